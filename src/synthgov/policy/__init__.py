"""Controlled sharing: policy as data, denied-party screening and the decision engine.

* :mod:`.schema` / :mod:`.load`: the YAML policy format (``version: 1``), validated, with
  errors naming the line and field; every loaded policy knows the sha256 of its bytes.
* :mod:`.hints`: classes suggested from a table's schema, for a person to confirm.
* :mod:`.names` / :mod:`.parties`: name normalisation and fuzzy screening against
  denied-party lists (CSV/JSON) that fails closed when a list is missing or stale.
* :mod:`.grants`: licences and approvals; :mod:`.records`: requests, release facts,
  decisions and share records; :mod:`.engine`: :func:`decide`.

The package ships an EXAMPLE policy and a FICTITIOUS denied-party list
(:func:`example_policy_path`, :func:`example_list_path`) for tests and the demo.

>>> policy = load_policy(example_policy_path())
>>> policy.policy.example, len(policy.sha256)
(True, 64)
"""

from .countries import country_code, country_name
from .engine import decide
from .grants import Approval, Licence, check_licence
from .hints import Suggestion, suggest_classes
from .load import LoadedPolicy, dump_policy, example_list_path, example_policy_path, load_policy, parse_policy, policy_sha256
from .names import normalise_name, skeleton
from .parties import Candidate, PartyEntry, PartyList, ScreeningResult, load_party_lists, parse_party_rows, screen, screen_many
from .records import Decision, Reason, ReleaseFacts, ShareRecord, ShareRequest, ancestors, inherit
from .schema import Policy

__all__ = [
    "Approval", "Candidate", "Decision", "LoadedPolicy", "Licence", "PartyEntry", "PartyList", "Policy", "Reason",
    "ReleaseFacts", "ScreeningResult", "ShareRecord", "ShareRequest", "Suggestion", "ancestors", "check_licence",
    "country_code", "country_name", "decide", "dump_policy", "example_list_path", "example_policy_path", "inherit",
    "load_party_lists", "load_policy", "normalise_name", "parse_party_rows", "parse_policy", "policy_sha256", "screen",
    "screen_many", "skeleton", "suggest_classes",
]
