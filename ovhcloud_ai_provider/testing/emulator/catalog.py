"""Static catalogs: AI Training flavors and AI Endpoints models (ovh-api.md 1.8 and 2.5).

Values marked [I] in comments are guesses for the fake (OVH does not publish them); everything else is
copied from the reference note. Kept as plain data so tests and docs can import them.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class Flavor:
    """One AI Training flavor; resources are per unit (per GPU, or per vCPU for CPU flavors)."""

    id: str
    type: str  # "gpu" | "cpu"
    gpu_model: str | None
    cpu_per_unit: int
    memory_per_unit: int  # bytes
    gpu_memory: int | None  # bytes per GPU
    ephemeral_storage_per_unit: int  # bytes [I]
    public_network_per_unit: int  # [I] except h100 (5 Gbps sample)
    private_network_per_unit: int  # [I]
    default: bool
    max: int
    description: str

    def to_api(self) -> dict[str, object]:
        """Flavor object as ``GET /v1/capabilities/flavor`` returns it (SDK ``Flavor`` model)."""
        return {
            "id": self.id,
            "type": self.type,
            "description": self.description,
            "default": self.default,
            "max": self.max,
            "resourcesPerUnit": {
                "cpu": self.cpu_per_unit,
                "memory": self.memory_per_unit,
                "ephemeralStorage": self.ephemeral_storage_per_unit,
                "publicNetwork": self.public_network_per_unit,
                "privateNetwork": self.private_network_per_unit,
            },
            "gpuInformation": (
                {"gpuBrand": "NVIDIA", "gpuModel": self.gpu_model, "gpuMemory": self.gpu_memory}
                if self.type == "gpu"
                else None
            ),
        }


def _gpu(
    fid: str, model: str, cpu: int, mem_gib: float, gpu_mem_gib: float, max_: int, *, default: bool = False
) -> Flavor:
    return Flavor(
        id=fid,
        type="gpu",
        gpu_model=model,
        cpu_per_unit=cpu,
        memory_per_unit=int(mem_gib * GIB),
        gpu_memory=int(gpu_mem_gib * GIB),
        ephemeral_storage_per_unit=(3072 if model == "H100" else 750) * GIB,
        public_network_per_unit=5_000_000_000 if model == "H100" else 1_500_000_000,
        private_network_per_unit=0,
        default=default,
        max=max_,
        description=f"{model} GPU",
    )


FLAVORS: dict[str, Flavor] = {
    f.id: f
    for f in (
        Flavor(
            id="ai1-1-cpu",
            type="cpu",
            gpu_model=None,
            cpu_per_unit=1,
            memory_per_unit=4 * GIB,
            gpu_memory=None,
            ephemeral_storage_per_unit=50 * GIB,
            public_network_per_unit=1_500_000_000,
            private_network_per_unit=0,
            default=True,
            max=12,
            description="Intel CPU",
        ),
        _gpu("ai1-1-gpu", "Tesla-V100S", 13, 40, 32, 4, default=True),
        _gpu("ai1-le-1-gpu", "Tesla-V100S", 13, 40, 32, 4),
        _gpu("a100-1-gpu", "Ampere-A100", 13, 160, 80, 2),
        _gpu("h100-1-gpu", "H100", 28, 350, 79.6, 4),
        _gpu("l40s-1-gpu", "L40s", 13, 80, 48, 4),
        _gpu("l4-1-gpu", "L4", 20, 80, 24, 4),
        _gpu("a10-1-gpu", "A10", 28, 40, 24, 4),
    )
}
DEFAULT_GPU_FLAVOR = "ai1-1-gpu"
DEFAULT_CPU_FLAVOR = "ai1-1-cpu"


@dataclass(frozen=True)
class Model:
    """One AI Endpoints model. Prices are per 1M tokens (input, output), as in ovh-api.md 2.5."""

    id: str
    kind: str  # "chat" | "embedding" | "audio"
    context_length: int
    price_in: float | None = None
    price_out: float | None = None
    dimensions: int | None = None  # embeddings only

    def to_api(self, created: int) -> dict[str, object]:
        """Item of ``GET /v1/models``: OpenAI fields plus the catalog extras seen in the wild [V3]."""
        item: dict[str, object] = {
            "id": self.id,
            "object": "model",
            "created": created,
            "owned_by": "ovhcloud",
        }
        if self.price_in is not None:
            # Per-token strings, like the OpenRouter-style feed OVH publishes.
            item["pricing"] = {
                "prompt": f"{self.price_in / 1_000_000:.12f}".rstrip("0"),
                "completion": f"{(self.price_out or 0.0) / 1_000_000:.12f}".rstrip("0"),
            }
        item["context_length"] = self.context_length
        if self.kind == "chat":
            item["max_completion_tokens"] = self.context_length
        return item


MODELS: dict[str, Model] = {
    m.id: m
    for m in (
        Model("gpt-oss-120b", "chat", 131072, 0.09, 0.47),
        Model("gpt-oss-20b", "chat", 131072, 0.05, 0.18),
        Model("Meta-Llama-3_3-70B-Instruct", "chat", 131072, 0.74, 0.74),
        Model("Mistral-7B-Instruct-v0.3", "chat", 65536, 0.11, 0.11),
        Model("Mistral-Nemo-Instruct-2407", "chat", 65536, 0.14, 0.14),
        Model("Mistral-Small-3.2-24B-Instruct-2506", "chat", 131072, 0.10, 0.31),
        Model("Qwen2.5-VL-72B-Instruct", "chat", 32768, 1.01, 1.01),
        Model("Qwen3-32B", "chat", 32768, 0.09, 0.25),
        Model("Qwen3-Coder-30B-A3B-Instruct", "chat", 262144, 0.07, 0.26),
        Model("Qwen3.5-9B", "chat", 262144, 0.12, 0.18),
        Model("Qwen3.6-27B", "chat", 262144, 0.47, 3.19),
        Model("Qwen3.5-397B-A17B", "chat", 262144, 0.71, 4.25),
        Model("Qwen3Guard-Gen-0.6B", "chat", 32768),
        Model("Qwen3Guard-Gen-8B", "chat", 32768),
        Model("Llama-3.1-8B-Instruct", "chat", 131072, 0.11, 0.11),  # price [I]
        Model("DeepSeek-R1-Distill-Llama-70B", "chat", 131072, 0.74, 0.74),  # price [I]
        # Embeddings: real output dimensions of these open models; prices [I] (third-party 0.01/1M).
        Model("bge-multilingual-gemma2", "embedding", 8192, 0.01, 0.0, dimensions=3584),
        Model("BGE-M3", "embedding", 8192, 0.01, 0.0, dimensions=1024),
        Model("bge-base-en-v1.5", "embedding", 512, 0.01, 0.0, dimensions=768),
        Model("multilingual-e5-base", "embedding", 512, 0.01, 0.0, dimensions=768),
        # Speech to text: listed, but the emulator serves no audio route.
        Model("whisper-large-v3", "audio", 0),
        Model("whisper-large-v3-turbo", "audio", 0),
    )
}

#: Fixed ``created`` value of the model list, so answers are byte-for-byte reproducible.
MODELS_CREATED = 1750000000
