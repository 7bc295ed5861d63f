"""Dataset naming for every volume shape and for models; every namespace must pass Marquez's pattern."""

from __future__ import annotations

import json

import pytest

from ovhcloud_ai_provider.lineage.naming import (
    MARQUEZ_NAMESPACE_RE,
    OVH_SWIFT_ALIASES,
    datastore_info,
    describe_volume,
    is_valid_marquez_namespace,
    model_dataset,
    url_dataset,
    volume_dataset,
)


def _ds(alias: str, container: str, prefix: str | None = None, *, legacy: bool = False, **extra) -> dict:
    store = {"alias": alias, "container": container}
    if prefix is not None:
        store["prefix"] = prefix
    volume = {"mountPath": "/workspace/data", "permission": "RO", **extra}
    if legacy:
        volume["dataStore"] = store
    else:
        volume["volumeSource"] = {"dataStore": store}
    return volume


@pytest.mark.parametrize("legacy", [False, True], ids=["volumeSource", "legacy-top-level"])
@pytest.mark.parametrize(
    ("alias", "container", "prefix", "expected"),
    [
        ("S3GRA", "training-data", "imagenet/train", ("s3://training-data", "imagenet/train")),
        ("S3GRA", "training-data", "/imagenet/train/", ("s3://training-data", "imagenet/train")),
        ("S3GRA", "training-data", None, ("s3://training-data", "/")),
        ("S3GRA", "training-data", "", ("s3://training-data", "/")),
        ("1azgra", "bucket.with.dots", "a/b.csv", ("s3://bucket.with.dots", "a/b.csv")),
        ("GRA", "models", "resnet/v3", ("swift://gra", "models/resnet/v3")),
        ("gra", "models", None, ("swift://gra", "models")),
        ("WAW", "my container", "p", ("swift://waw", "my container/p")),
    ],
)
def test_datastore_volumes(legacy, alias, container, prefix, expected):
    assert volume_dataset(_ds(alias, container, prefix, legacy=legacy)) == expected


@pytest.mark.parametrize("alias", sorted(OVH_SWIFT_ALIASES))
def test_every_ovh_alias_is_swift_in_its_region(alias):
    info = datastore_info(alias)
    assert (info.type, info.region, info.endpoint) == (
        "swift",
        alias.lower(),
        f"https://storage.{alias.lower()}.cloud.ovh.net",
    )
    assert volume_dataset(_ds(alias, "c", "p")) == (f"swift://{alias.lower()}", "c/p")


def test_customer_aliases_default_to_s3():
    info = datastore_info("MY_S3")
    assert (info.type, info.endpoint, info.region) == ("s3", None, None)


def test_datastore_types_can_be_configured(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW__OVHCLOUD_AI__LINEAGE_DATASTORES",
        json.dumps(
            {
                "s3gra": {"type": "s3", "endpoint": "https://ak:sk@s3.gra.io.cloud.ovh.net/?x=1"},
                "OLDSWIFT": {"type": "swift", "region": "SBG"},
                "GRA": {"type": "s3"},
            }
        ),
    )
    s3 = datastore_info("S3GRA")
    assert (s3.type, s3.endpoint) == ("s3", "https://s3.gra.io.cloud.ovh.net/")  # credentials dropped
    assert volume_dataset(_ds("OLDSWIFT", "c", "p")) == ("swift://sbg", "c/p")
    assert volume_dataset(_ds("GRA", "c", "p")) == ("s3://c", "p")  # overrides the built-in rule


def test_bad_datastore_configuration_is_ignored(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OVHCLOUD_AI__LINEAGE_DATASTORES", "{not json")
    assert volume_dataset(_ds("GRA", "c")) == ("swift://gra", "c")


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/ovh/ai-training-examples.git",
            ("https://github.com", "ovh/ai-training-examples"),
        ),
        ("https://github.com/ovh/ai-training-examples", ("https://github.com", "ovh/ai-training-examples")),
        (
            "https://user:ghp_secret@gitlab.example.com:8443/g/p.git?ref=main#x",
            ("https://gitlab.example.com:8443", "g/p"),
        ),
        ("https://GitHub.com:443/Org/Repo/", ("https://github.com", "Org/Repo")),
        ("git@github.com:org/repo.git", ("ssh://github.com", "org/repo")),
    ],
)
def test_public_git(legacy, url, expected):
    volume = {"mountPath": "/code", "permission": "RO"}
    if legacy:
        volume["publicGit"] = {"url": url}
    else:
        volume["volumeSource"] = {"publicGit": {"url": url}}
    assert volume_dataset(volume) == expected
    info = describe_volume(volume)
    assert info is not None and info.source_type == "publicGit"
    assert "secret" not in (info.url or "") and "?" not in (info.url or "")


@pytest.mark.parametrize("legacy", [False, True])
def test_public_swift(legacy):
    url = "https://storage.gra.cloud.ovh.net/v1/AUTH_abc123/public-data/mnist/?temp_url_sig=deadbeef"
    volume = {"mountPath": "/data", "permission": "RO"}
    if legacy:
        volume["publicSwift"] = {"url": url}
    else:
        volume["volumeSource"] = {"publicSwift": {"url": url}}
    assert volume_dataset(volume) == ("https://storage.gra.cloud.ovh.net", "v1/AUTH_abc123/public-data/mnist")
    assert "deadbeef" not in (describe_volume(volume).url or "")


def test_private_swift_deprecated_shape():
    volume = {
        "privateSwift": {"container": "c", "region": "BHS", "prefix": "x/"},
        "mountPath": "/m",
        "permission": "RW",
    }
    assert volume_dataset(volume) == ("swift://bhs", "c/x")


@pytest.mark.parametrize(
    "volume",
    [
        {"volumeSource": {"standalone": {"name": "scratch"}}, "mountPath": "/scratch", "permission": "RW"},
        {"standalone": {}, "mountPath": "/scratch", "permission": "RWD"},
        {"mountPath": "/nothing", "permission": "RO"},
        {"volumeSource": {"publicGit": {"url": "not a url"}}, "mountPath": "/x", "permission": "RO"},
        "container@GRA:/data",
        None,
    ],
)
def test_volumes_without_dataset(volume):
    assert volume_dataset(volume) is None


def test_volume_target_is_a_separate_dataset():
    volume = {
        "volumeSource": {"standalone": {}},
        "volumeTarget": {"targetDataStore": {"alias": "S3GRA", "container": "out", "prefix": "run1"}},
        "mountPath": "/out",
        "permission": "RW",
    }
    assert volume_dataset(volume) is None
    assert volume_dataset(volume, target=True) == ("s3://out", "run1")
    legacy = {
        "dataStore": {"alias": "GRA", "container": "in"},
        "targetDataStore": {"alias": "S3GRA", "container": "out"},
        "mountPath": "/d",
        "permission": "RW",
    }
    assert volume_dataset(legacy) == ("swift://gra", "in")
    assert volume_dataset(legacy, target=True) == ("s3://out", "/")
    assert volume_dataset(_ds("GRA", "c"), target=True) is None


def test_describe_volume_normalises_fields():
    info = describe_volume(
        {
            "volume_source": {"data_store": {"alias": "S3GRA", "container": "c"}},
            "mount_path": "/m",
            "permission": "rwd",
            "cache": 1,
        }
    )
    assert info is not None
    assert (info.source_type, info.permission, info.cache, info.mount_path) == (
        "dataStore",
        "RWD",
        True,
        "/m",
    )
    assert (
        describe_volume(
            {"volumeSource": {"dataStore": {"alias": "GRA", "container": "c"}}, "mountPath": "/m"}
        ).permission
        == "RO"
    )


@pytest.mark.parametrize(
    ("base_url", "model", "expected"),
    [
        ("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", "Meta-Llama-3_3-70B-Instruct",
         ("https://oai.endpoints.kepler.ai.cloud.ovh.net", "Meta-Llama-3_3-70B-Instruct")),
        ("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1/", "bge-m3", ("https://oai.endpoints.kepler.ai.cloud.ovh.net", "bge-m3")),
        ("https://llama-3-3-70b-instruct.endpoints.kepler.ai.cloud.ovh.net/api/openai_compat/v1", "m",
         ("https://llama-3-3-70b-instruct.endpoints.kepler.ai.cloud.ovh.net", "m")),
        ("http://127.0.0.1:8765/v1", "Mistral-7B-Instruct-v0.3", ("http://127.0.0.1:8765", "Mistral-7B-Instruct-v0.3")),
        ("HTTPS://user:key@OAI.example.com:443/v1?api_key=x", "m", ("https://oai.example.com", "m")),
        ("oai.endpoints.kepler.ai.cloud.ovh.net/v1", " m ", ("https://oai.endpoints.kepler.ai.cloud.ovh.net", "m")),
        ("http://[::1]:8080/v1", "m", ("http://::1:8080", "m")),
        ("", "", ("https://unknown", "unknown")),
    ],
)  # fmt: skip
def test_model_dataset(base_url, model, expected):
    assert model_dataset(base_url, model) == expected


def test_url_dataset_edge_cases():
    assert url_dataset("") is None
    assert url_dataset("https://example.com") == ("https://example.com", "/")
    assert (
        url_dataset("https://exa mple.com/x")[0] == "https://exa_mple.com"
    )  # repaired, never rejected by Marquez


ALL_NAMESPACE_SAMPLES = [
    volume_dataset(_ds("S3GRA", "bucket-1", "p")),
    volume_dataset(_ds("S3GRA", "Bad Bucket?%", "p")),
    volume_dataset(_ds("GRA", "c", "p")),
    volume_dataset(_ds("Weird Alias!", "c", "p")),
    volume_dataset({"volumeSource": {"publicGit": {"url": "https://github.com/a/b.git"}}}),
    volume_dataset(
        {"volumeSource": {"publicSwift": {"url": "https://storage.gra.cloud.ovh.net/v1/AUTH_x/c"}}}
    ),
    volume_dataset({"privateSwift": {"container": "c", "region": "GRA"}}),
    model_dataset("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", "m"),
    model_dataset("http://[::1]:8080/v1", "m"),
    model_dataset("http://localhost:8080/v1?x=%20", "m"),
]


@pytest.mark.parametrize("dataset", ALL_NAMESPACE_SAMPLES, ids=lambda d: d[0] if d else "none")
def test_every_namespace_is_accepted_by_marquez(dataset):
    assert dataset is not None
    namespace, name = dataset
    assert MARQUEZ_NAMESPACE_RE.match(namespace), namespace
    assert is_valid_marquez_namespace(namespace)
    assert name.strip()


def test_marquez_pattern():
    assert is_valid_marquez_namespace("s3://bucket")
    assert not is_valid_marquez_namespace("https://host/path?q=1")
    assert not is_valid_marquez_namespace("a b")
    assert not is_valid_marquez_namespace("x" * 1025)


def test_datastore_types_from_airflow_config(monkeypatch):
    from airflow.sdk.configuration import conf

    monkeypatch.delenv("AIRFLOW__OVHCLOUD_AI__LINEAGE_DATASTORES", raising=False)
    real_get = conf.get

    def fake_get(section, key, *args, **kwargs):
        if (section, key) == ("ovhcloud_ai", "lineage_datastores"):
            return '{"MYSWIFT": {"type": "swift"}}'
        return real_get(section, key, *args, **kwargs)

    monkeypatch.setattr(conf, "get", fake_get)
    assert volume_dataset(_ds("MYSWIFT", "c", "p")) == ("swift://myswift", "c/p")
