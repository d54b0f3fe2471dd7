import Testing

/// All relay suites run one after another: each starts real Redis servers and relays, and on
/// two shared cores parallel runs make socket timeouts race with unrelated work.
@Suite(.serialized) struct RelayTests {}
