"""The service connects to Temporal as Temporal's CLI does: through a profile of its config file."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from temporal_access.client import connect
from tests.support.secrets import session_settings


async def test_a_profile_file_connects_the_service(dev_server: WorkflowEnvironment, tmp_path: Path) -> None:
    target = dev_server.client.service_client.config.target_host
    config = tmp_path / "temporal.toml"
    config.write_text(
        f'[profile.default]\naddress = "127.0.0.1:1"\n\n'
        f'[profile.appointments]\naddress = "{target}"\nnamespace = "default"\n'
        '[profile.appointments.grpc_meta]\nx-deployment = "appointments-test"\n'
    )
    settings = session_settings({"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "appointments"})

    client = await connect(settings)

    assert client.service_client.config.target_host == target
    assert client.service_client.config.rpc_metadata == {"x-deployment": "appointments-test"}
    # A call the server answers: the profile's address and namespace are the ones in use.
    assert (await client.count_workflows("WorkflowType = 'NoSuchWorkflow'")).count == 0
