// The process helpers and the throwaway Redis live in LocalProcesses (RMBTesting uses them too).
@_exported import LocalProcesses
