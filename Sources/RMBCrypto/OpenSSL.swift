import Foundation
import COpenSSL

/// The one place that talks to OpenSSL's libcrypto: the digests, the key derivation and the
/// AEAD that libsodium does not offer portably (MD5 for the envelope challenge, PBKDF2 for
/// substrate-bip39, AES-256-GCM for e2e: libsodium's AES-GCM needs AES-NI).
public enum OpenSSL {
    /// MD5 (16 bytes). Only used because the RMB envelope challenge is defined with it.
    public static func md5(_ data: some ContiguousBytes) -> [UInt8] {
        digest(data, EVP_md5(), length: 16)
    }

    /// SHA-256 (32 bytes).
    public static func sha256(_ data: some ContiguousBytes) -> [UInt8] {
        digest(data, EVP_sha256(), length: 32)
    }

    private static func digest(_ data: some ContiguousBytes, _ md: OpaquePointer?, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        data.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { o in
                // EVP_Digest cannot fail for in-memory input with a built-in algorithm.
                _ = EVP_Digest(input.baseAddress, input.count, o.bindMemory(to: UInt8.self).baseAddress, &written, md, nil)
            }
        }
        return out
    }

    /// PBKDF2-HMAC-SHA512.
    public static func pbkdf2SHA512(password: [UInt8], salt: [UInt8], iterations: Int, length: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let rc = password.withUnsafeBufferPointer { p in
            PKCS5_PBKDF2_HMAC(
                UnsafeRawPointer(p.baseAddress)?.assumingMemoryBound(to: CChar.self), Int32(p.count),
                salt, Int32(salt.count), Int32(iterations), EVP_sha512(), Int32(length), &out)
        }
        guard rc == 1 else { throw .libraryFailure("PKCS5_PBKDF2_HMAC") }
        return out
    }

    /// AES-256-GCM seal with a 12-byte nonce and no associated data: returns `ciphertext ‖ tag(16)`.
    public static func aes256GCMSeal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard key.count == 32 else { throw .invalidLength(what: "AES-256 key", expected: 32, got: key.count) }
        guard nonce.count == 12 else { throw .invalidLength(what: "GCM nonce", expected: 12, got: nonce.count) }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .libraryFailure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var len: Int32 = 0
        var total = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { throw .libraryFailure("EVP_EncryptInit_ex") }
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(ctx, &out, &len, plaintext, Int32(plaintext.count)) == 1 else { throw .libraryFailure("EVP_EncryptUpdate") }
            total = Int(len)
        }
        let finalOK = out.withUnsafeMutableBufferPointer { o in
            EVP_EncryptFinal_ex(ctx, o.baseAddress.map { $0 + total }, &len) == 1
        }
        guard finalOK else { throw .libraryFailure("EVP_EncryptFinal_ex") }
        total += Int(len)
        let tagOK = out.withUnsafeMutableBufferPointer { o in
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, o.baseAddress.map { UnsafeMutableRawPointer($0 + total) }) == 1
        }
        guard tagOK else { throw .libraryFailure("EVP_CTRL_AEAD_GET_TAG") }
        return out
    }

    /// AES-256-GCM open of `ciphertext ‖ tag(16)`; throws ``CryptoError/decryptionFailed`` on a bad tag.
    public static func aes256GCMOpen(_ sealed: ArraySlice<UInt8>, key: [UInt8], nonce: ArraySlice<UInt8>) throws(CryptoError) -> [UInt8] {
        guard key.count == 32 else { throw .invalidLength(what: "AES-256 key", expected: 32, got: key.count) }
        guard nonce.count == 12, sealed.count >= 16 else { throw .decryptionFailed }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .libraryFailure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let ct = Array(sealed.dropLast(16))
        var tag = Array(sealed.suffix(16))
        let iv = Array(nonce)
        var out = [UInt8](repeating: 0, count: ct.count + 16)
        var len: Int32 = 0
        var total = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, iv) == 1 else { throw .libraryFailure("EVP_DecryptInit_ex") }
        if !ct.isEmpty {
            guard EVP_DecryptUpdate(ctx, &out, &len, ct, Int32(ct.count)) == 1 else { throw .decryptionFailed }
            total = Int(len)
        }
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, &tag) == 1 else { throw .libraryFailure("EVP_CTRL_AEAD_SET_TAG") }
        let finalOK = out.withUnsafeMutableBufferPointer { o in
            EVP_DecryptFinal_ex(ctx, o.baseAddress.map { $0 + total }, &len) == 1
        }
        guard finalOK else { throw .decryptionFailed }
        total += Int(len)
        return Array(out.prefix(total))
    }

    /// Random bytes from OpenSSL's CSPRNG (used for GCM nonces).
    public static func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&out, Int32(count)) == 1 else { throw .libraryFailure("RAND_bytes") }
        return out
    }
}
