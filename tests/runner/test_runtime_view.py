"""Where the launcher puts the runtime in its view (the pure plan; the mounts are tested in test_host_memory)."""

from __future__ import annotations

import pytest

from app.runner.runtime_view import VIEW_ROOT, ViewPlan, plan_view, view_packet

BASE = "/usr"


def test_a_checkout_binds_its_virtualenv_and_the_package_alone() -> None:
    plan = plan_view(
        prefix="/home/alice/textbook/.venv",
        base_prefix=BASE,
        executable="/home/alice/textbook/.venv/bin/python3",
        import_root="/home/alice/textbook",
    )
    assert plan == ViewPlan(
        bindings=(
            ("/home/alice/textbook/.venv", VIEW_ROOT + "/venv"),
            ("/home/alice/textbook/app", VIEW_ROOT + "/code/app"),
        ),
        python=VIEW_ROOT + "/venv/bin/python3",
        import_root=VIEW_ROOT + "/code",
    )
    assert "alice" not in repr(view_packet(plan.import_root))


def test_a_copy_installed_in_a_virtualenv_is_found_through_the_virtualenv() -> None:
    site = "/opt/venv/lib/python3.11/site-packages"
    plan = plan_view(prefix="/opt/venv", base_prefix=BASE, executable="/opt/venv/bin/python", import_root=site)
    assert isinstance(plan, ViewPlan)
    assert plan.bindings == (("/opt/venv", VIEW_ROOT + "/venv"),)
    assert plan.import_root == VIEW_ROOT + "/venv/lib/python3.11/site-packages"


def test_a_system_install_keeps_its_paths_and_a_checkout_without_virtualenv_binds_the_package() -> None:
    system = plan_view(
        prefix=BASE, base_prefix=BASE, executable="/usr/bin/python3", import_root="/usr/lib/python3/dist-packages"
    )
    assert system == ViewPlan((), "/usr/bin/python3", "/usr/lib/python3/dist-packages")
    checkout = plan_view(prefix=BASE, base_prefix=BASE, executable="/usr/bin/python3", import_root="/srv/textbook")
    assert isinstance(checkout, ViewPlan)
    assert checkout.bindings == (("/srv/textbook/app", VIEW_ROOT + "/code/app"),)
    assert (checkout.python, checkout.import_root) == ("/usr/bin/python3", VIEW_ROOT + "/code")


@pytest.mark.parametrize("base", ["/mnt/python", "/mnt"])
def test_no_view_when_the_interpreter_lives_where_the_view_goes(base: str) -> None:
    reason = plan_view(prefix=base, base_prefix=base, executable=base + "/bin/python3", import_root="/srv/textbook")
    assert isinstance(reason, str) and "/mnt" in reason
