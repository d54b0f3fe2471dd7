#!/usr/bin/env python3
"""Builds Tests/Fixtures/tfchain/events-twin-updated.hex: the SCALE value of System.Events
for a realistic block, encoded by an independent implementation (py-scale-codec, `pip install
scalecodec`) from the types of the bundled tfchain metadata snapshot, so the Swift event
decoder is checked against bytes it did not produce itself.

Records: Timestamp call's ExtrinsicSuccess (ApplyExtrinsic 0), TfgridModule.TwinUpdated with
twin 7 of vectors/twins.json (ApplyExtrinsic 1), TransactionPayment + ExtrinsicSuccess for
that extrinsic, and a Balances.Deposit during Finalization with one topic.
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

events_type = None
for pallet in metadata.value[1]["V14"]["pallets"]:
    if pallet["name"] == "System":
        events_type = next(e for e in pallet["storage"]["entries"] if e["name"] == "Events")["type"]["Plain"]

obj = rc.create_scale_object(f"scale_info::{events_type}")
data = obj.encode(records)
out = fixtures / "tfchain" / "events-twin-updated.hex"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(data.to_hex()[2:] + "\n")

# Round trip through the same library as a sanity check of the input above.
check = rc.create_scale_object(f"scale_info::{events_type}", data=ScaleBytes(data.data))
print(json.dumps(check.decode(), default=str)[:2000])
