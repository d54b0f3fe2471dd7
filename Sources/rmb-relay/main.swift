import NIOCore
import NIOPosix
import RMBRelay

// Swift Concurrency on NIO's event loops (as in rmb-peer): a session's frames are routed by
// short tasks next to the socket that read them, without a hop to another thread pool.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

await RelayCommand.runMain()
