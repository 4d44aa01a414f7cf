from pathlib import Path
import pytest, schemathesis
from hypothesis import settings, HealthCheck
from schemathesis.python import asgi as st_asgi
from app.main import create_app
from tests.conftest import make_settings

@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    app = create_app(make_settings(tmp_path_factory.mktemp("fuzz")))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema
    st_asgi.shutdown_lifespans()

schema = schemathesis.pytest.from_fixture("api_schema")

@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case):
    case.call_and_validate()
