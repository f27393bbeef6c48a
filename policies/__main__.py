"""Entry point the Pulumi engine runs (``python -u -m pulumi.policy <engine> .``): construct the pack, nothing else.

``PolicyPack(...)`` starts the gRPC server and blocks, so nothing may import this file; the policies
live in ``imagegen_policies`` (installed into the project's virtualenv) where tests import them.
"""

from imagegen_policies.pack import PACK_DESCRIPTION, PACK_NAME, build_policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    display_name="imagegen policies",
    provider="aws",
    # Without a config file every policy blocks: a stack is allowed to relax, never forgets to enforce.
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
