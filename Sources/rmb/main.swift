import NIOCore
import NIOPosix
import RMBCLI

// Swift Concurrency runs on NIO's event loops: the Redis clients (`rmb service …`, `rmb bench
// peer`) are chains of short Redis hops, and on the loops a hop stays on its connection's thread
// instead of crossing to Dispatch's pool and back. Every command is async where it awaits, so
// nothing blocks a loop.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

await RMBCommand.runMain()
