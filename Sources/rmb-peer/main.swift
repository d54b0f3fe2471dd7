import NIOCore
import NIOPosix
import RMBPeer

// Swift Concurrency's jobs run on NIO's event loops instead of Dispatch's thread pool: the
// peer's work is a chain of short hops (Redis, store, relay sockets), and on the event loops a
// hop usually stays on the thread it came from instead of waking another one.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

await PeerCommand.runMain()
