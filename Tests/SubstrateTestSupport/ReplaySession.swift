import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Logging

/// One client connection to the replay node: reads requests in order, records them, and runs
/// each reply in its own child task (so a delayed or never-ending reply does not hold up the
/// next request). Everything ends with the connection.
struct ReplaySession: Sendable {
    let state: Locked<ReplayNode.NodeState>
    let channel: any Channel
    let outbound: WebSocketOutboundWriter
    let logger: Logger
    /// Live subscription ids on this connection; notifications stop when one is removed.
    private let subscriptions = Locked<Set<String>>([])

    init(state: Locked<ReplayNode.NodeState>, channel: any Channel, outbound: WebSocketOutboundWriter, logger: Logger) {
        self.state = state
        self.channel = channel
        self.outbound = outbound
        self.logger = logger
    }

    func serve(_ inbound: WebSocketInboundStream) async {
        let connection = state.withLock { state -> Int in
            state.nextConnection += 1
            state.sessions[state.nextConnection] = channel
            return state.nextConnection
        }
        defer { _ = state.withLock { $0.sessions.removeValue(forKey: connection) } }
        await CloseFrameCounter.install(on: channel, state: state)
        await withTaskGroup(of: Void.self) { group in
            do {
                for try await message in inbound.messages(maxSize: 64 << 20) {
                    guard case .text(let text) = message, let parsed = Self.parse(text) else {
                        state.withLock { $0.frames += 1 }
                        continue
                    }
                    let (request, script) = state.withLock { state -> (ReplayRequest, ReplayScript) in
                        let request = ReplayRequest(method: parsed.method, params: parsed.params, id: parsed.id,
                                                    connection: connection, sequence: state.requests.count + 1)
                        state.requests.append(request)
                        return (request, state.script)
                    }
                    let unsubscribed = endSubscription(named: request)
                    let reply = script(request) ?? (unsubscribed ? .result(true) : .error(code: -32601, message: "Method not found"))
                    group.addTask { await perform(reply, to: request) }
                }
            } catch {
                logger.debug("replay session ended: \(error)")
            }
            group.cancelAll()
        }
    }

    /// An unsubscribe (`…unsubscribe…`/`…unwatch…` with a live id as first param) stops that
    /// subscription's notifications; returns whether it named one.
    private func endSubscription(named request: ReplayRequest) -> Bool {
        let method = request.method.lowercased()
        guard method.contains("unsubscribe") || method.contains("unwatch"), let id = request.params.first?.string else { return false }
        return subscriptions.withLock { $0.remove(id) != nil }
    }

    private func perform(_ reply: ReplayReply, to request: ReplayRequest) async {
        switch reply {
        case .result(let value):
            await send("{\"jsonrpc\":\"2.0\",\"id\":\(request.id.text),\"result\":\(value.text)}")
        case .error(let code, let message, let data):
            let dataField = data.map { ",\"data\":\($0.text)" } ?? ""
            let messageText = NodeJSON(stringLiteral: message).text
            await send("{\"jsonrpc\":\"2.0\",\"id\":\(request.id.text),\"error\":{\"code\":\(code),\"message\":\(messageText)\(dataField)}}")
        case .noAnswer:
            break
        case .closeConnection:
            try? await channel.close()
        case .subscription(let id, let notifications, let method, let interval, let end):
            subscriptions.withLock { _ = $0.insert(id) }
            let idText = NodeJSON(stringLiteral: id).text
            await send("{\"jsonrpc\":\"2.0\",\"id\":\(request.id.text),\"result\":\(idText)}")
            let methodText = NodeJSON(stringLiteral: method ?? notificationMethod(for: request.method)).text
            for notification in notifications {
                do { try await Task.sleep(for: interval) } catch { return }
                guard subscriptions.withLock({ $0.contains(id) }) else { return }
                await send("{\"jsonrpc\":\"2.0\",\"method\":\(methodText),\"params\":{\"subscription\":\(idText),\"result\":\(notification.text)}}")
            }
            if case .closeConnection = end {
                try? await Task.sleep(for: interval)
                try? await channel.close()
            }
        case .raw(let text):
            await send(text)
        case .rawBinary(let bytes):
            try? await outbound.write(.binary(ByteBuffer(bytes: bytes)))
        case .delayed(let pause, let next):
            do { try await Task.sleep(for: pause) } catch { return }
            await perform(next, to: request)
        case .sequence(let replies):
            for next in replies { await perform(next, to: request) }
        }
    }

    private func send(_ text: String) async {
        do { try await outbound.writeTextMessage(text) } catch { logger.debug("replay write failed: \(error)") }
    }

    private struct Parsed {
        let method: String
        let params: [NodeJSON]
        let id: NodeJSON
    }

    private static func parse(_ text: String) -> Parsed? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let method = object["method"] as? String else { return nil }
        let params = (object["params"] as? [Any] ?? []).map { (try? NodeJSON(any: $0)) ?? nil }
        let id = object["id"].flatMap { try? NodeJSON(any: $0) } ?? nil
        return Parsed(method: method, params: params, id: id)
    }
}

/// Counts the close frames clients send (``ReplayNode/closeFramesReceived``): it sits right
/// after the WebSocket frame decoder, where control frames still pass.
final class CloseFrameCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    let state: Locked<ReplayNode.NodeState>

    init(state: Locked<ReplayNode.NodeState>) { self.state = state }

    static func install(on channel: any Channel, state: Locked<ReplayNode.NodeState>) async {
        try? await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try pipeline.addHandler(CloseFrameCounter(state: state), position: .after(decoder))
        }.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).opcode == .connectionClose { state.withLock { $0.closeFrames += 1 } }
        context.fireChannelRead(data)
    }
}
