import Logging
import NIOCore
import NIOWebSocket

/// Writes a session's queued frames on its channel's event loop, one batch at a time: each
/// batch is written and flushed, and the next is taken once its write completed (so a socket
/// that does not drain makes the queue fill up, and the router fall back to the stream). No
/// task is involved except for the XDEL of stored entries, which runs after their write and
/// before the next batch (as the writer waits for it, the session's close waits for it too).
/// A close frame ends the run: it is flushed, and the socket is closed once it was written.
struct SessionWriter: Sendable {
    let core: RelayCore
    let session: Session

    /// Starts writer run `run` (claimed by the session) on the event loop.
    func start(run: UInt64) {
        session.channel.eventLoop.execute { writeNext(run) }
    }

    /// A batch turned into frames, with what to do once they are written.
    private struct Frames {
        var frames: [WebSocketFrame] = []
        var storedIDs: [String] = []
        var binaryBytes: [Int] = []
        var closing = false

        init(_ batch: [Outgoing], allocator: ByteBufferAllocator) {
            frames.reserveCapacity(batch.count)
            for item in batch {
                switch item {
                case .direct(let bytes):
                    frames.append(WebSocketFrame(fin: true, opcode: .binary, data: allocator.buffer(bytes: bytes)))
                    binaryBytes.append(bytes.count)
                case .stored(let id, let bytes):
                    frames.append(WebSocketFrame(fin: true, opcode: .binary, data: allocator.buffer(bytes: bytes)))
                    binaryBytes.append(bytes.count)
                    storedIDs.append(id)
                case .control(let opcode, let data):
                    frames.append(WebSocketFrame(fin: true, opcode: opcode, data: data))
                    if opcode == .connectionClose { closing = true }
                }
            }
        }
    }

    private func writeNext(_ run: UInt64) {
        guard let batch = session.takeBatch(run: run) else { return }
        let channel = session.channel
        let plan = Frames(batch, allocator: channel.allocator)
        let storedIDs = plan.storedIDs
        let written = channel.eventLoop.makePromise(of: Void.self)
        for (index, frame) in plan.frames.enumerated() {
            channel.write(frame, promise: index == plan.frames.count - 1 ? written : nil)
        }
        channel.flush()
        written.futureResult.whenComplete { result in
            switch result {
            case .failure(let error):
                // Direct frames were never stored: the session's cleanup puts them in the stream.
                core.logger.debug("write failed", metadata: ["session": "\(session.id)", "error": "\(error)"])
                session.writerEnded(run: run, unsent: batch)
                session.terminate()
            case .success:
                for bytes in plan.binaryBytes { core.metrics.sent(bytes: bytes) }
                if plan.closing {
                    session.writerEnded(run: run)
                    channel.close(promise: nil)
                } else if storedIDs.isEmpty {
                    // Through the event loop's queue rather than recursively: a write completes
                    // synchronously when the socket takes it.
                    channel.eventLoop.execute { writeNext(run) }
                } else {
                    Task {
                        do { try await core.store.delete(session.id, ids: storedIDs) } catch {
                            core.logger.warning("XDEL failed (entries will be delivered again on reconnect)",
                                                metadata: ["session": "\(session.id)", "error": "\(error)"])
                        }
                        channel.eventLoop.execute { writeNext(run) }
                    }
                }
            }
        }
    }
}
