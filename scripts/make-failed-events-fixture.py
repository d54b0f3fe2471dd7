#!/usr/bin/env python3
"""Builds Tests/Fixtures/tfchain/events-update-failed.hex: System.Events of a block in which
extrinsic 1 (an update_twin) failed with the module error TfgridModule.TwinNotExists, encoded
by an independent implementation (py-scale-codec, `pip install scalecodec`) from the types of
the bundled tfchain metadata snapshot. The Swift chain client must report the failure by name.
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

pallets = metadata.value[1]["V14"]["pallets"]
tfgrid = next(p for p in pallets if p["name"] == "TfgridModule")
error_type = tfgrid["error"]["ty"]
# Find the index of TwinNotExists in the pallet's Error enum from the registry.
registry_types = metadata.value[1]["V14"]["types"]["types"]
error_def = next(t for t in registry_types if t["id"] == error_type)["type"]["def"]["variant"]["variants"]
error_index = next(v["index"] for v in error_def if v["name"] == "TwinNotExists")

def dispatch_info(ref_time, proof_size, klass, pays):
    return {"weight": {"ref_time": ref_time, "proof_size": proof_size}, "class": klass, "pays_fee": pays}

records = [
    {"phase": {"ApplyExtrinsic": 0},
     "event": {"System": {"ExtrinsicSuccess": {"dispatch_info": dispatch_info(260558000, 1493, "Mandatory", "Yes")}}},
     "topics": []},
    {"phase": {"ApplyExtrinsic": 1},
     "event": {"System": {"ExtrinsicFailed": {
         "dispatch_error": {"Module": {"index": tfgrid["index"], "error": "0x" + bytes([error_index, 0, 0, 0]).hex()}},
         "dispatch_info": dispatch_info(1234567890, 4321, "Normal", "Yes")}}},
     "topics": []},
]

events_type = None
for pallet in pallets:
    if pallet["name"] == "System":
        events_type = next(e for e in pallet["storage"]["entries"] if e["name"] == "Events")["type"]["Plain"]

obj = rc.create_scale_object(f"scale_info::{events_type}")
data = obj.encode(records)
out = fixtures / "tfchain" / "events-update-failed.hex"
out.write_text(data.to_hex()[2:] + "\n")
check = rc.create_scale_object(f"scale_info::{events_type}", data=ScaleBytes(data.data))
print(json.dumps(check.decode(), default=str)[:1500])
print("TwinNotExists index", error_index)
