from hypothesis import given, settings, event, strategies as st
from tests.property.test_protection_properties import *
from housekeeper.core.protection import plan_protection

@settings(max_examples=300, deadline=None)
@given(config=configs(), images=repositories(), data=st.data())
def test_stats(config, images, data):
    in_use = data.draw(in_use_sets(images, 14))
    plan = plan_protection(config, images, in_use, NOW)
    event(f"protected>0: {bool(plan.protected)}")
    event(f"pins: {bool(plan.pins)}")
    event(f"raised: {any(p.raised_keep for p in plan.protected)}")
    event(f"before: {any(p.threatened_by % 10 == 0 and p.threatened_by <= 30 and p.tag for p in plan.protected)}")
    event(f"unprotected: {sorted({u.reason for u in plan.unprotected})}")
    event(f"archived protected: {any(p.tag and any(i.digest==p.digest and i.storage_class=='ARCHIVE' for i in images) for p in plan.protected)}")
    event(f"children in use: {any(c in in_use for i in images for c in i.child_digests)}")
    event(f"index protected: {any(i.child_digests and i.digest in {p.digest for p in plan.protected} for i in images)}")
