import glob
import os

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils.nvidia_smi import parse_nvidia_smi_xml

from ...conftest import FIXTURES

CAPTURES = sorted(glob.glob(os.path.join(FIXTURES, "nvidia-smi", "*.xml")) +
                  glob.glob(os.path.join(FIXTURES, "gpu_facts", "*.xml")))


def parse(name):
    path = [p for p in CAPTURES if os.path.basename(p).startswith(name)][0]
    with open(path, "rb") as handle:
        return parse_nvidia_smi_xml(handle.read())


@pytest.mark.parametrize("path", CAPTURES, ids=os.path.basename)
def test_contract_holds_for_every_capture(path):
    with open(path) as handle:
        result = parse_nvidia_smi_xml(handle.read())  # as str, header and all
    assert isinstance(result["driver_version"], str) and result["driver_version"]
    assert result["cuda_driver_version"] is None or isinstance(result["cuda_driver_version"], str)
    assert isinstance(result["attached_gpus"], int)
    assert result["gpus"]
    for position, gpu in enumerate(result["gpus"]):
        assert gpu["index"] == position
        for key in ("name", "uuid", "pci_bus_id"):
            assert isinstance(gpu[key], str) and gpu[key]
        assert gpu["memory_total_mib"] is None or isinstance(gpu["memory_total_mib"], int)
        assert gpu["persistence_mode"] in (True, False, None)
        assert gpu["mig_mode"] in ("enabled", "disabled", None)
        assert gpu["ecc_enabled"] in (True, False, None)
        for process in gpu["processes"]:
            assert isinstance(process["pid"], int)
            assert isinstance(process["name"], str)
            assert process["used_memory_mib"] is None or isinstance(process["used_memory_mib"], int)


def test_mig_enabled_a100_with_fewer_gpu_elements_than_attached():
    result = parse("telegraf__a100")
    assert result["attached_gpus"] == 4
    assert len(result["gpus"]) == 1
    gpu = result["gpus"][0]
    assert gpu["mig_mode"] == "enabled"
    assert len(gpu["mig_devices"]) == 4
    assert gpu["memory_total_mib"] == 81920
    assert (result["driver_version"], result["cuda_driver_version"]) == ("535.54.03", "12.2")


def test_processes_with_names_and_memory():
    gpu = parse("datakit__gtx")["gpus"][0]
    assert gpu["name"] == "Tesla V100-PCIE-32GB"
    assert [p["pid"] for p in gpu["processes"]] == [4027538, 4027590, 4157880, 4165319]
    assert gpu["processes"][0] == {"pid": 4027538, "name": "mtopen-plugin:worker", "type": "C",
                                   "used_memory_mib": 3214, "gpu_instance_id": None,
                                   "compute_instance_id": None}
    assert gpu["mig_mode"] is None  # N/A on a V100
    assert gpu["ecc_enabled"] is True


def test_old_schema_without_doctype_or_mig():
    result = parse("telegraf__quadro")
    gpu = result["gpus"][0]
    assert result["driver_version"] == "418.43"
    assert gpu["mig_mode"] is None
    assert gpu["processes"] == []
    assert gpu["memory_total_mib"] == 1998


def test_two_gpus_in_file_order():
    result = parse("telegraf__dual")
    assert [g["index"] for g in result["gpus"]] == [0, 1]
    assert [g["uuid"] for g in result["gpus"]] == [
        "GPU-12345678-aaaa-bbbb-cccc-0123456789ab", "GPU-12345678-aaaa-bbbb-cccc-0123456789cd"]
    assert result["gpus"][0]["pci_bus_id"] != result["gpus"][1]["pci_bus_id"]
    assert result["attached_gpus"] == 2


def test_h100_capture():
    result = parse("h100")
    gpu = result["gpus"][0]
    assert result["driver_version"] == "580.159.04"
    assert result["cuda_driver_version"] == "13.0"
    assert gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["memory_total_mib"] == 81559
    assert (gpu["persistence_mode"], gpu["mig_mode"], gpu["ecc_enabled"]) == (True, "disabled", True)
    assert gpu["architecture"] == "Hopper"


def test_units_and_placeholders():
    xml = b"""<nvidia_smi_log><driver_version>1.2</driver_version><gpu id="0000:01:00.0">
      <product_name>X</product_name><uuid>GPU-1</uuid>
      <fb_memory_usage><total>80 GiB</total></fb_memory_usage>
      <persistence_mode>N/A</persistence_mode>
      <ecc_mode><current_ecc>[Not Supported]</current_ecc></ecc_mode>
      <processes>None</processes></gpu></nvidia_smi_log>"""
    result = parse_nvidia_smi_xml(xml)
    gpu = result["gpus"][0]
    assert gpu["memory_total_mib"] == 81920
    assert gpu["pci_bus_id"] == "0000:01:00.0"  # from the id attribute when <pci> is missing
    assert (gpu["persistence_mode"], gpu["ecc_enabled"], gpu["processes"]) == (None, None, [])
    assert result["attached_gpus"] == 1
    assert result["cuda_driver_version"] is None


def test_not_nvidia_smi_output_is_refused():
    with pytest.raises(ValueError):
        parse_nvidia_smi_xml("<html></html>")
