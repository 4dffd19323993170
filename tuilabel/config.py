"""The user's configuration file: `~/.config/tuilabel/config.toml` (keys of one's own).

Only the score app reads it. Its `[keys]` table maps a verdict (`top1`, `top5`, `none`,
`unrateable`, from `tuilabel.verdicts`) or an action of the score app (see `ACTIONS`) to one key
or a list of keys, replacing that entry's default keys:

    [keys]
    top1 = ["j", "1", "space"]
    none = "semicolon"
    back = "p"

Keys are Textual key names (`a`, `1`, `space`, `enter`, `f2`, `ctrl+x`) or a single printable
character. A file that does not parse, an unknown name, or one key given to two different
entries is refused with one line saying where (`ConfigError`, an InputError: exit code 2).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tuilabel.errors import InputError
from tuilabel.verdicts import VERDICT_TABLE

#: Set to a file to read instead of the default path (tests, or several profiles).
CONFIG_ENV = "TUILABEL_CONFIG"


@dataclass(frozen=True)
class Action:
    """One remappable action of the score app: its default keys and its help line."""

    name: str
    keys: tuple[str, ...]
    help: str


#: The score app's actions besides the verdicts, with their default keys.
ACTIONS: tuple[Action, ...] = (
    Action("skip", ("s",), "skip this photo (it comes back at the end)"),
    Action("undo", ("u", "backspace"), "undo the last rating (or grid page)"),
    Action("back", ("b",), "step back / forward; re-rating replaces"),
    Action("forward", ("n",), "step forward again"),
    Action("grid", ("g",), "grid view: a page of photos, one label"),
    Action("text", ("t",), "the tweet's text"),
    Action("zoom", ("z",), "zoom the photo (z or escape: back)"),
    Action("roc", ("r",), "ROC curve of the ratings so far"),
)

#: Keys the app keeps for itself (quit, help, the grid's digits and Enter): never remapped.
RESERVED = {"q", "question_mark", "?", "ctrl+c", "escape", "enter", "i"}


class ConfigError(InputError):
    """The configuration file cannot be used (the message names the file and the entry)."""


def config_path() -> Path:
    """Where the configuration file is read from: $TUILABEL_CONFIG, else
    $XDG_CONFIG_HOME/tuilabel/config.toml, else ~/.config/tuilabel/config.toml."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join("~", ".config")
    return Path(base).expanduser() / "tuilabel" / "config.toml"


_CHAR_NAMES = {" ": "space", "?": "question_mark", ";": "semicolon", ",": "comma",
               ".": "full_stop", "/": "slash", "-": "minus", "+": "plus", "=": "equals_sign",
               "'": "apostrophe", "[": "left_square_bracket", "]": "right_square_bracket",
               "\\": "backslash", "`": "grave_accent", "#": "number_sign", "!": "exclamation_mark",
               "*": "asterisk", "<": "less_than_sign", ">": "greater_than_sign",
               ":": "colon", "@": "at", "&": "ampersand", "%": "percent_sign",
               "$": "dollar_sign", "^": "circumflex_accent", "_": "underscore",
               "(": "left_parenthesis", ")": "right_parenthesis", "|": "vertical_line",
               "~": "tilde", '"': "quotation_mark", "{": "left_curly_bracket",
               "}": "right_curly_bracket"}


def key_name(key: str) -> str:
    """A key as Textual names it: a single punctuation character becomes its name
    (`;` -> `semicolon`); anything else is kept as given."""
    return _CHAR_NAMES.get(key, key)


@dataclass(frozen=True)
class KeyMap:
    """The keys of every verdict and action, defaults overridden by the config file."""

    keys: dict[str, tuple[str, ...]] = field(default_factory=lambda: default_keys())
    source: Path | None = None  # the file read, if any

    def of(self, name: str) -> tuple[str, ...]:
        """The keys of a verdict value or an action name (Textual key names)."""
        return self.keys[name]

    def shown(self, name: str) -> str:
        """The first key of `name`, for footers and messages (`?` rather than its name, `␣`
        for the space bar)."""
        first = self.keys[name][0] if self.keys[name] else ""
        if first == "space":
            return "␣"
        reverse = {v: k for k, v in _CHAR_NAMES.items()}
        return reverse.get(first, first)

    def judging(self) -> str:
        """The first keys of the verdicts that judge the photo, those that enter the analysis
        ("j k l" by default): they wait until the photo is drawn."""
        return " ".join(self.shown(v.value) for v in VERDICT_TABLE if v.analysed)


def default_keys() -> dict[str, tuple[str, ...]]:
    """Every verdict's and action's keys as shipped."""
    keys = {v.value: v.keys for v in VERDICT_TABLE}
    keys.update({a.name: a.keys for a in ACTIONS})
    return keys


def load_keymap(path: Path | None = None) -> KeyMap:
    """The key map: the defaults, with the `[keys]` table of the config file (if the file
    exists) replacing entries. Raises ConfigError for a file that cannot be read or used."""
    path = config_path() if path is None else path
    keys = default_keys()
    if not path.exists():
        return KeyMap(keys)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    unknown = set(data) - {"keys"}
    if unknown:
        raise ConfigError(f"{path}: unknown table {sorted(unknown)[0]!r} (only [keys] is read)")
    table = data.get("keys", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: keys must be a table ([keys])")
    for name, value in table.items():
        if name not in keys:
            raise ConfigError(f"{path}: [keys] {name!r} is not a verdict or action; use one "
                              f"of {', '.join(keys)}")
        given = [value] if isinstance(value, str) else value
        if not isinstance(given, list) or not given or not all(
                isinstance(k, str) and k.strip() for k in given):
            raise ConfigError(f"{path}: [keys] {name} must be a key or a list of keys")
        names = tuple(key_name(k.strip()) for k in given)
        reserved = [k for k in names if k in RESERVED]
        if reserved:
            raise ConfigError(f"{path}: [keys] {name}: key {reserved[0]!r} is kept for quit, "
                              "help, Enter or the grid and cannot be remapped")
        if name in {a.name for a in ACTIONS} and any(k.isdigit() for k in names):
            raise ConfigError(f"{path}: [keys] {name}: digits number the grid's tiles; only "
                              "verdicts can take them (top1 = [\"j\", \"1\"])")
        keys[name] = names
    owner: dict[str, str] = {}
    for name, bound in keys.items():
        for k in bound:
            if k in owner and owner[k] != name:
                raise ConfigError(f"{path}: key {k!r} is given to both {owner[k]} and {name}")
            owner[k] = name
    return KeyMap(keys, path)
