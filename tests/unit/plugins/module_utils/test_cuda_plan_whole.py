"""cuda_plan.plan and cudnn_role_plan: the cuda and cudnn roles' whole decisions, on the real H100 probe (its
machine added: that capture predates the field) and on probes of hosts this collection converged."""

import copy
import json
import os

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_plan
from ansible_collections.dlops.gpu.tests.unit.conftest import FIXTURES
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_cuda_plan import toolkit

with open(os.path.join(FIXTURES, "gpu_facts", "h100-ubuntu2404-580-open.json")) as handle:
    H100 = dict(json.load(handle), machine="x86_64")
SETTINGS = {"cuda_toolkits": [], "cuda_default": "", "cuda_prune": False, "cuda_prefix": "/usr/local",
            "cuda_install_method": "redist", "cuda_profile": "runtime", "cuda_components": [],
            "cuda_components_by_toolkit": {}, "cuda_target_driver": "", "cuda_allow_unsupported_driver": False,
            "cuda_profile_d": True, "cuda_switch_command": "/usr/local/sbin/cuda-switch", "cuda_modulefiles": True,
            "cuda_modulefiles_dir": "/etc/dlops-gpu/modulefiles", "cuda_archive_dir": "/var/cache/dlops-gpu/redist"}


def settings(**kwargs):
    return dict(SETTINGS, **kwargs)


def converged(*toolkits, **default):
    """A probe of a host with these toolkits (ours), <prefix>/cuda and cuda-X at default["series"]."""
    series = default.get("series")
    return {"machine": "x86_64", "driver": {"version": "580.159.04"}, "toolkits": list(toolkits),
            "cuda_default": {"path": "/usr/local/cuda", "alternatives": False, "series": series,
                             "major_series": series}}


def paths(plan):
    return [(f["path"], f.get("state", "present"), f.get("template")) for f in plan["files"]]


def test_the_h100_with_a_packaged_13_0_gets_12_8_beside_it_and_the_default_switched():
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["12.8", "13.0"], cuda_default="12.8"))
    assert plan["errors"] == [] and plan["warnings"] == []
    # 13.0 came from NVIDIA's packages (not ours): it meets "13.0" and is never touched.
    assert plan["install_series"] == ["12.8"]
    assert plan["install"][0]["components"] == list(cuda_plan.PROFILES["runtime"][0])
    assert (plan["install"][0]["platform"], plan["platform"]) == ("linux-x86_64", "linux-x86_64")
    assert (plan["default_series"], plan["switch"], plan["switch_pending"]) == ("12.8", True, True)
    assert plan["after_series"] == ["12.8", "13.0"]
    assert paths(plan) == [
        ("/etc/ld.so.conf.d/dlops-cuda.conf", "present", None),
        ("/usr/local/sbin/cuda-switch", "present", "cuda-switch.j2"),
        ("/etc/profile.d/dlops-cuda.sh", "present", "dlops-cuda.sh.j2"),
        ("/etc/dlops-gpu/modulefiles/cuda/12.8", "present", "modulefile.j2"),
        ("/etc/dlops-gpu/modulefiles/cuda/13.0", "present", "modulefile.j2")]
    assert plan["files"][0]["content"].endswith("\n/usr/local/cuda/lib64\n")
    assert plan["files"][3]["template_vars"] == {"__cuda_series": "12.8"}
    assert plan["packages"] == []


def test_the_h100_keeps_its_13_0_under_update_alternatives_switched_until_they_are_in_manual_mode():
    # The capture's alternative is in auto mode (as NVIDIA's packages leave it): the switch sets it by hand.
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["13.0"], cuda_default="13.0"))
    assert plan["install"] == [] and plan["errors"] == []
    assert (plan["switch"], plan["switch_pending"]) == (True, False)
    manual = dict(H100, cuda_default=dict(H100["cuda_default"], major_series="13.0", alternatives_manual=True))
    assert cuda_plan.plan(manual, settings(cuda_toolkits=["13.0"], cuda_default="13.0"))["switch"] is False
    assert cuda_plan.plan(manual, settings(cuda_toolkits=["12.8", "13.0"], cuda_default="12.8"))["switch"] is True


def test_a_different_release_over_a_packaged_toolkit_is_an_error():
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["13.0.2"]))
    assert plan["errors"] == ["/usr/local/cuda-13.0 holds CUDA 13.0.88 installed by something else (a package or a "
                              "runfile), not 13.0.2: remove it or ask for 13.0"]
    assert plan["files"] == [] and plan["install"] == []


def test_a_converged_host_plans_nothing_to_install_or_switch_and_keeps_its_files():
    probe = converged(toolkit("12.8", "12.8.1", components=cuda_plan.PROFILES["runtime"][0]), series="12.8")
    plan = cuda_plan.plan(probe, settings(cuda_toolkits=["12.8"], cuda_default="12.8"))
    assert (plan["install"], plan["remove"], plan["switch"]) == ([], [], False)
    assert [f["path"] for f in plan["files"]][-1] == "/etc/dlops-gpu/modulefiles/cuda/12.8"


def test_moving_the_default_and_pruning_the_old_one_is_judged_against_the_state_the_steps_leave():
    probe = converged(toolkit("12.4", "12.4.1", components=cuda_plan.PROFILES["runtime"][0]),
                      toolkit("12.6", "12.6.3", components=cuda_plan.PROFILES["runtime"][0]), series="12.4")
    plan = cuda_plan.plan(probe, settings(cuda_toolkits=["12.8"], cuda_default="12.8", cuda_prune=True))
    assert plan["errors"] == []
    assert (plan["install_series"], plan["remove"], plan["after_series"]) == (["12.8"], ["12.4", "12.6"], ["12.8"])
    assert (plan["switch"], plan["switch_pending"]) == (True, True)
    assert paths(plan)[-3:] == [("/etc/dlops-gpu/modulefiles/cuda/12.8", "present", "modulefile.j2"),
                                ("/etc/dlops-gpu/modulefiles/cuda/12.4", "absent", None),
                                ("/etc/dlops-gpu/modulefiles/cuda/12.6", "absent", None)]


def test_no_toolkits_listed_writes_no_environment_and_only_removes_pruned_modulefiles():
    probe = converged(toolkit("12.4", "12.4.1"), series=None)
    assert cuda_plan.plan(probe, settings())["files"] == []
    plan = cuda_plan.plan(probe, settings(cuda_prune=True))
    assert paths(plan) == [("/etc/dlops-gpu/modulefiles/cuda/12.4", "absent", None)]


def test_profile_and_modulefiles_follow_their_switches_and_the_prefix():
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["12.8"], cuda_profile_d=False, cuda_modulefiles=False,
                                         cuda_prefix="/opt/nvidia"))
    assert [f["path"] for f in plan["files"]] == ["/etc/ld.so.conf.d/dlops-cuda.conf", "/usr/local/sbin/cuda-switch"]
    assert plan["files"][0]["content"].endswith("\n/opt/nvidia/cuda/lib64\n")


def test_bad_settings_stop_the_plan_before_anything_else_is_judged():
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["13.0.2"], cuda_prefix="/opt/my cuda"))
    assert len(plan["errors"]) == 1 and plan["errors"][0].startswith('cuda_prefix: "/opt/my cuda" is not a plain')
    assert (plan["install"], plan["files"], plan["switch"]) == ([], [], False)


def test_the_driver_and_the_profile_stop_what_the_host_cannot_take():
    old_driver = dict(H100, driver=dict(H100["driver"], version="535.183.01"))
    plan = cuda_plan.plan(old_driver, settings(cuda_toolkits=["12.8"]))
    assert plan["errors"] == [] and "minor-version compatibility" in plan["warnings"][0]
    # An image built for a known driver: the target driver is judged, not the host's.
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["12.8"], cuda_target_driver="470.256.02"))
    assert "CUDA 12.8 needs driver" in plan["errors"][0]
    assert cuda_plan.plan(H100, settings(cuda_toolkits=["12.8"], cuda_profile="custom"))["errors"] == [
        "cuda_profile is custom but cuda_components is empty: list the redist components"]
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["12.8"], cuda_profile="custom", cuda_components=["cuda_cudart"],
                                         cuda_install_method="package"))
    assert plan["errors"] == ["cuda_install_method package installs the runtime or devel profile; custom lists are for "
                              "redist"]
    plan = cuda_plan.plan(dict(H100, machine="ppc64le"), settings(cuda_toolkits=["12.8"]))
    assert plan["errors"] == ['NVIDIA publishes no Linux redist archives for this host\'s machine "ppc64le": use '
                              'cuda_install_method package or drop cuda_toolkits here']
    assert cuda_plan.plan(dict(H100, machine="aarch64"), settings(cuda_toolkits=["12.8"]))["platform"] == "linux-sbsa"


def test_the_package_method_names_its_packages_and_switches_where_the_link_is_not_held_by_hand():
    probe = converged(toolkit("12.4", "12.4.1", managed=False), series="12.4")
    plan = cuda_plan.plan(probe, settings(cuda_toolkits=["12.4", "12.8.1"], cuda_default="12.4",
                                          cuda_install_method="package", cuda_profile="devel"))
    assert plan["packages"] == ["cuda-toolkit-12-4", "cuda-toolkit-12-8=12.8.1*"]
    assert (plan["switch"], plan["switch_pending"]) == (False, False)
    auto = dict(probe, cuda_default=dict(probe["cuda_default"], alternatives=True))
    assert cuda_plan.plan(auto, settings(cuda_toolkits=["12.4"], cuda_default="12.4",
                                         cuda_install_method="package"))["switch"] is True
    plan = cuda_plan.plan(probe, settings(cuda_toolkits=["12.8"], cuda_default="12.8", cuda_install_method="package"))
    assert plan["packages"] == ["cuda-libraries-12-8"]
    assert plan["switch_pending"] is True


def test_the_plan_does_not_change_the_probe_it_reads():
    probe = copy.deepcopy(H100)
    cuda_plan.plan(probe, settings(cuda_toolkits=["12.8", "13.0"], cuda_default="12.8"))
    assert probe == H100


def test_cudnn_role_plan_checks_its_settings_then_plans_each_toolkit_and_what_to_fetch_once():
    good = {"cudnn_versions": {"12": "9.13", "13": "9.13"}, "cudnn_archive_dir": "/var/cache/dlops-gpu/redist"}
    plan = cuda_plan.cudnn_role_plan(H100, good, ["12.8", "12.6"])
    assert plan["errors"] == []
    assert [(t["series"], t["pending"]) for t in plan["todo"]] == [("13.0", False), ("12.6", True), ("12.8", True)]
    assert plan["requests"] == [{"version": "9.13", "cuda_major": "13", "platform": "linux-x86_64"},
                                {"version": "9.13", "cuda_major": "12", "platform": "linux-x86_64"}]
    bad = cuda_plan.cudnn_role_plan(H100, dict(good, cudnn_versions={"12": 9.13}))
    assert len(bad["errors"]) == 1 and "is a number: write it quoted" in bad["errors"][0]
    assert bad["todo"] == [] and bad["requests"] == []
    assert cuda_plan.cudnn_role_plan(dict(H100, machine="ppc64le"), good)["errors"][0].startswith(
        "NVIDIA publishes no Linux cuDNN archives")
    assert cuda_plan.cudnn_role_plan(dict(H100, machine="ppc64le"), dict(good, cudnn_versions={}))["errors"] == []
