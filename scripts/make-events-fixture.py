#!/usr/bin/env python3
"""Builds Tests/Fixtures/tfchain/events-twin-updated.hex and events-update-failed.hex: the SCALE
values of System.Events for two realistic blocks, encoded by an independent implementation (py-scale-codec, `pip install
scalecodec`) from the types of the bundled tfchain metadata snapshot, so the Swift event
decoder is checked against bytes it did not produce itself.

Records: Timestamp call's ExtrinsicSuccess (ApplyExtrinsic 0), TfgridModule.TwinUpdated with
twin 7 of vectors/twins.json (ApplyExtrinsic 1), TransactionPayment + ExtrinsicSuccess for
that extrinsic, and a Balances.Deposit during Finalization with one topic. The second block:
extrinsic 1 (an update_twin) failed with the module error TfgridModule.TwinNotExists, which the
Swift chain client must report by name.
"""
import json
import pathlib

from scalecodec.base import RuntimeConfiguration, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

root = pathlib.Path(__file__).resolve().parent.parent
fixtures = root / "Tests" / "Fixtures"

rc = RuntimeConfiguration()
rc.update_type_registry(load_type_registry_preset("core"))
metadata = rc.create_scale_object("MetadataVersioned", data=ScaleBytes((fixtures / "tfchain-metadata-v14.scale").read_bytes()))
metadata.decode()
rc.add_portable_registry(metadata)

twin = json.loads((fixtures / "vectors" / "twins.json").read_text())["twins"][0]
alice = "0x" + twin["account_id"]

def dispatch_info(ref_time, proof_size, klass, pays):
    return {"weight": {"ref_time": ref_time, "proof_size": proof_size}, "class": klass, "pays_fee": pays}

records = [
    {"phase": {"ApplyExtrinsic": 0},
     "event": {"System": {"ExtrinsicSuccess": {"dispatch_info": dispatch_info(260558000, 1493, "Mandatory", "Yes")}}},
     "topics": []},
    {"phase": {"ApplyExtrinsic": 1},
     "event": {"TfgridModule": {"TwinUpdated": {
         "id": twin["id"],
         "account_id": alice,
         "relay": twin["relay_field_utf8"],
         "entities": [],
         "pk": "0x" + twin["pk"],
     }}},
     "topics": []},
    {"phase": {"ApplyExtrinsic": 1},
     "event": {"TransactionPayment": {"TransactionFeePaid": {"who": alice, "actual_fee": 10**20 + 7, "tip": 0}}},
     "topics": []},
    {"phase": {"ApplyExtrinsic": 1},
     "event": {"System": {"ExtrinsicSuccess": {"dispatch_info": dispatch_info(1234567890, 4321, "Normal", "Yes")}}},
     "topics": []},
    {"phase": "Finalization",
     "event": {"Balances": {"Deposit": {"who": alice, "amount": 2**64 + 1}}},
     "topics": ["0x" + "ab" * 32]},
]

pallets = metadata.value[1]["V14"]["pallets"]
system = next(p for p in pallets if p["name"] == "System")
events_type = next(e for e in system["storage"]["entries"] if e["name"] == "Events")["type"]["Plain"]


def write(name, block):
    obj = rc.create_scale_object(f"scale_info::{events_type}")
    data = obj.encode(block)
    out = fixtures / "tfchain" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(data.to_hex()[2:] + "\n")
    # Round trip through the same library as a sanity check of the input above.
    check = rc.create_scale_object(f"scale_info::{events_type}", data=ScaleBytes(data.data))
    print(name, json.dumps(check.decode(), default=str)[:1500])


write("events-twin-updated.hex", records)

# The index of TwinNotExists in TfgridModule's Error enum, from the registry.
tfgrid = next(p for p in pallets if p["name"] == "TfgridModule")
registry_types = metadata.value[1]["V14"]["types"]["types"]
error_variants = next(t for t in registry_types if t["id"] == tfgrid["error"]["ty"])["type"]["def"]["variant"]["variants"]
twin_not_exists = next(v["index"] for v in error_variants if v["name"] == "TwinNotExists")
write("events-update-failed.hex", [
    records[0],
    {"phase": {"ApplyExtrinsic": 1},
     "event": {"System": {"ExtrinsicFailed": {
         "dispatch_error": {"Module": {"index": tfgrid["index"], "error": "0x" + bytes([twin_not_exists, 0, 0, 0]).hex()}},
         "dispatch_info": dispatch_info(1234567890, 4321, "Normal", "Yes")}}},
     "topics": []},
])
