"""Plans the cuda and cudnn roles make from gpu_facts, and the preflight against the driver table."""

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_plan


def toolkit(series, version, managed=True, components=("cuda_cudart",), cudnn=None):
    return {"path": "/usr/local/cuda-" + series, "series": series, "version": version, "managed": managed,
            "components": dict((c, "x") for c in components), "cudnn": {"version": cudnn} if cudnn else None}


def test_preflight_fails_a_toolkit_the_driver_cannot_run_naming_the_minimum():
    checks = cuda_plan.cuda_preflight(["12.4.1", "13.0"], "12.4", "535.183.01")
    assert checks["errors"] == [
        "CUDA 13.0 needs driver 580.65.06 or newer (minor-version compatibility: 580); this host has 535.183.01. "
        "Upgrade the driver, drop CUDA 13.0, or set cuda_allow_unsupported_driver: true"]
    assert any("CUDA 12.4.1 runs on driver 535.183.01 only through minor-version compatibility" in w
               for w in checks["warnings"])


def test_preflight_override_turns_the_error_into_a_warning():
    checks = cuda_plan.cuda_preflight(["13.0"], "13.0", "535.183.01", allow_unsupported=True)
    assert checks["errors"] == []
    assert "allowed by cuda_allow_unsupported_driver" in checks["warnings"][0]


def test_preflight_on_the_h100_driver():
    checks = cuda_plan.cuda_preflight(["12.8", "13.0"], "13.0", "580.159.04")
    assert checks == {"errors": [], "warnings": []}


def test_preflight_input_errors():
    checks = cuda_plan.cuda_preflight(["12.8", "12.8.1", "twelve"], "12.4", None)
    assert "lists CUDA 12.8 twice (12.8 and 12.8.1)" in checks["errors"][0]
    assert "cuda_toolkits: 'twelve' is not X.Y or X.Y.Z" in checks["errors"][1]
    assert "cuda_default 12.4 is not in cuda_toolkits (12.8)" in checks["errors"][2]
    assert any("no NVIDIA driver found" in w for w in checks["warnings"])


def test_plan_on_a_converged_host_is_empty():
    facts = [toolkit("12.8", "12.8.1"), toolkit("13.0", "13.0.2", components=("cuda_cudart", "cuda_nvcc"))]
    by_toolkit = {"13.0": ["cuda_cudart", "cuda_nvcc"]}
    plan = cuda_plan.cuda_toolkit_plan(["12.8", "13.0.2"], facts, ["cuda_cudart"], by_toolkit)
    assert plan == {"install": [], "install_series": [], "remove": [], "conflicts": [],
                    "after_series": ["12.8", "13.0"]}


def test_plan_says_which_toolkits_are_there_after_it():
    # Its modulefiles follow: 12.8 added, 12.4 pruned, 11.8 (not the collection's) kept, 12.6 (the default) kept.
    facts = [toolkit("12.4", "12.4.1"), toolkit("12.6", "12.6.3"), toolkit("11.8", "11.8.0"),
             dict(toolkit("10.2", "10.2.89"), managed=False)]
    plan = cuda_plan.cuda_toolkit_plan(["12.8", "11.8"], facts, ["cuda_cudart"], default="12.6", prune=True)
    assert plan["install_series"] == ["12.8"]
    assert plan["remove"] == ["12.4"]
    assert plan["after_series"] == ["10.2", "11.8", "12.6", "12.8"]


def test_plan_installs_what_is_missing_changed_or_short_of_components():
    facts = [toolkit("12.4", "12.4.0"), toolkit("12.8", "12.8.1")]
    plan = cuda_plan.cuda_toolkit_plan(["12.4.1", "12.8", "13.0"], facts, ["cuda_cudart", "libcublas"],
                                       optional=["cuda_crt"], platform="linux-sbsa")
    assert [r["version"] for r in plan["install"]] == ["12.4.1", "12.8", "13.0"]
    assert plan["install"][0] == {"version": "12.4.1", "components": ["cuda_cudart", "libcublas"],
                                  "optional": ["cuda_crt"], "platform": "linux-sbsa"}
    assert plan["install_series"] == ["12.4", "12.8", "13.0"]


def test_a_toolkit_from_packages_meets_its_series_and_is_never_touched():
    facts = [toolkit("13.0", "13.0.88", managed=False, components=())]
    assert cuda_plan.cuda_toolkit_plan(["13.0"], facts, ["cuda_cudart"], prune=True, default="13.0")["install"] == []
    plan = cuda_plan.cuda_toolkit_plan(["13.0.2"], facts, ["cuda_cudart"])
    assert plan["install"] == []
    assert plan["conflicts"] == ["/usr/local/cuda-13.0 holds CUDA 13.0.88 installed by something else (a package "
                                 "or a runfile), not 13.0.2: remove it or ask for 13.0"]


def test_prune_removes_only_managed_unlisted_toolkits_never_the_default():
    facts = [toolkit("12.4", "12.4.1"), toolkit("12.8", "12.8.1"), toolkit("13.0", "13.0.88", managed=False),
             toolkit("11.8", "11.8.0")]
    plan = cuda_plan.cuda_toolkit_plan(["12.8"], facts, ["cuda_cudart"], default="11.8", prune=True)
    assert plan["remove"] == ["12.4"]
    assert cuda_plan.cuda_toolkit_plan(["12.8"], facts, ["cuda_cudart"], default="11.8")["remove"] == []


def test_cudnn_for_prefers_the_toolkit_key():
    wish = {"12": "9.13", "12.4": "9.10.0", 13: "9.13"}
    assert cuda_plan.cudnn_for("12.8", wish) == "9.13"
    assert cuda_plan.cudnn_for("12.4", wish) == "9.10.0"
    assert cuda_plan.cudnn_for("11.8", wish) is None


def test_cudnn_plan():
    facts = [toolkit("12.4", "12.4.1", cudnn="9.10.0"), toolkit("12.8", "12.8.1", cudnn="9.13.0"),
             toolkit("13.0", "13.0.2"), toolkit("11.8", "11.8.0")]
    todo = cuda_plan.cudnn_plan(facts, {"12": "9.13", "13": "9.13.0"})
    assert todo == [
        {"toolkit": "/usr/local/cuda-12.4", "series": "12.4", "cuda_major": "12", "version": "9.13",
         "platform": "linux-x86_64", "pending": False},
        {"toolkit": "/usr/local/cuda-13.0", "series": "13.0", "cuda_major": "13", "version": "9.13.0",
         "platform": "linux-x86_64", "pending": False},
    ]


def test_cudnn_plan_takes_the_toolkits_the_run_installs():
    # Check mode: 12.6 is still to be installed; 12.8, also listed as pending, is probed already (the real run).
    facts = [toolkit("12.8", "12.8.1")]
    todo = cuda_plan.cudnn_plan(facts, {"12": "9.13"}, "linux-sbsa", ["12.6", "12.8"], "/opt/")
    assert todo == [
        {"toolkit": "/usr/local/cuda-12.8", "series": "12.8", "cuda_major": "12", "version": "9.13",
         "platform": "linux-sbsa", "pending": False},
        {"toolkit": "/opt/cuda-12.6", "series": "12.6", "cuda_major": "12", "version": "9.13",
         "platform": "linux-sbsa", "pending": True},
    ]
