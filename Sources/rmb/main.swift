import NIOCore
import NIOPosix
import RMBCLI

// The long-running Redis clients (`rmb service …`, `rmb bench peer`) are chains of short Redis
// hops: on NIO's event loops a hop stays on the connection's thread instead of crossing to
// Dispatch's pool and back. The other commands keep the default executor: `rmb store …` waits on
// a semaphore for async work, which on an event loop would block the loop that work needs.
if RMBCommand.prefersEventLoops(Array(CommandLine.arguments.dropFirst())) {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

await RMBCommand.runMain()
