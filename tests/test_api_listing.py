"""Every public attribute of Tensor (what dir(Tensor) shows) is listed in docs/api.md: no op ships undocumented."""
from pathlib import Path

from tinygrad_bp import Tensor

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _tensor_section() -> str:
    text = API.read_text(encoding="utf-8")
    start = text.index("- **`Tensor(")
    end = text.index("\n- **`", start + 1)
    return text[start:end]


def test_api_md_lists_every_public_tensor_attribute() -> None:
    section = _tensor_section()
    public = [name for name in dir(Tensor) if not name.startswith("_")]
    missing = [name for name in public if f"  - `{name}" not in section]
    assert not missing, f"docs/api.md does not list Tensor.{', Tensor.'.join(missing)}: run python tools/gen_api.py"


def test_api_md_lists_no_tensor_attribute_that_is_gone() -> None:
    listed = [line.split("`")[1].split("(")[0] for line in _tensor_section().splitlines()[1:] if line.startswith("  - `")]
    assert listed and all(hasattr(Tensor, name) for name in listed), [n for n in listed if not hasattr(Tensor, n)]
