import tempfile, collections, shutil
from pathlib import Path
import pytest, schemathesis
from hypothesis import settings, HealthCheck
from schemathesis.python import asgi as st_asgi
from app.main import create_app
from tests.conftest import make_settings

DATA = Path(tempfile.mkdtemp(prefix="fuzz-"))
APP = create_app(make_settings(DATA))
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP
schema.location = "/openapi.json"
SEEN = collections.Counter()
STATUSES = collections.Counter()
FAILS = collections.Counter()

@pytest.fixture(scope="module", autouse=True)
def _lifespan():
    yield
    st_asgi.shutdown_lifespans()
    print(SEEN, STATUSES)
    for k,v in FAILS.items(): print(v, k)

@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case):
    SEEN[case.operation.label] += 1
    try:
        r = case.call()
        STATUSES[(case.operation.label, r.status_code)] += 1
        case.validate_response(r)
    except Exception as e:
        for f in getattr(e, "exceptions", [e]):
            FAILS[(case.operation.label, r.status_code, type(f).__name__, getattr(f, "title", ""), str(getattr(f,"message",""))[:150])] += 1
