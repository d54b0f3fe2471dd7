import Substrate

/// Turns the fields of `System.ExtrinsicFailed` into a readable reason, e.g.
/// `TfgridModule.TwinNotExists` or `BadOrigin`, using the runtime's own error names.
enum DispatchErrorDescription {
    static func describe(_ fields: [UInt8], metadata: RuntimeMetadata) -> String {
        guard let event = try? metadata.event(pallet: "System", event: "ExtrinsicFailed"),
              let errorType = event.fields.first?.type,
              case .variant(let variants)? = metadata.types.type(errorType)?.definition,
              let tag = fields.first,
              let variant = variants.first(where: { $0.index == tag }) else {
            return "dispatch error (undecoded: \(fields.prefix(8).map { String($0, radix: 16) }))"
        }
        guard variant.name == "Module", fields.count >= 3 else { return variant.name }
        // ModuleError { index: u8, error: [u8; 4] } (older runtimes: error: u8); the first error
        // byte is the variant index of the pallet's Error enum.
        let palletIndex = fields[1], errorIndex = fields[2]
        guard let pallet = metadata.pallet(index: palletIndex) else { return "module error \(palletIndex)/\(errorIndex)" }
        if let errorType = pallet.errorType, case .variant(let errors)? = metadata.types.type(errorType)?.definition,
           let error = errors.first(where: { $0.index == errorIndex }) {
            return "\(pallet.name).\(error.name)"
        }
        return "\(pallet.name) error \(errorIndex)"
    }
}
