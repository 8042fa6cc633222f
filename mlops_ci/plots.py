"""The plots dvc.yaml declares, at the base and in the workspace, as bounded data for the Report.

DVC's Python API finds them (``Repo.plots.collect``: top-level ``plots:`` with their ``x``/``y``
mappings and templates, and stage outputs marked as plots) and turns each into datapoints
(``dvc.render.match.match_defs_renderers``, what `dvc plots show` uses). Every file is checked
before DVC reads a byte of it: in the workspace it must resolve inside the repository (or DVC's
cache) and be a regular file, and at either revision it must be smaller than a bound. At the
base, files inside DVC-cached outputs come from the local cache or the remote, never written
into the workspace. What a report holds is bounded too: MAX_PLOTS plots, MAX_SERIES lines of at
most MAX_POINTS points each (longer ones are resampled), MAX_CLASSES classes per matrix.
No template file is opened: mlops-ci reads the data, so each definition gets a built-in stand-in
template. A confusion matrix whose records are cells with a `count` (template
``confusion_count``, or data of that shape) sums the counts.
"""

from __future__ import annotations

import hashlib
import logging
import math
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_ci.report import ConfusionMatrix, PlotDiff, PlotSeries
from mlops_ci.schemas import is_writable_text
from mlops_ci.security import check_regular_file, resolve_in_workspace

MAX_PLOTS = 20
MAX_SERIES = 4  # y fields (lines per revision) in one plot
MAX_POINTS = 200  # per line in the report; the file's points are resampled onto this many
MAX_CLASSES = 15  # rows and columns of a confusion matrix
MAX_DATA_BYTES = 5_000_000  # a plot's data file, read whole by DVC
MAX_IMAGE_BYTES = 20_000_000  # an image, read only to hash it
MAX_TEXT = 200  # characters of a title, label, class or series name

IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif")
# confusion_count: mlops-ci's own (templates/dvc_plots/), one record per cell with its `count`
CONFUSION_TEMPLATES = ("confusion", "confusion_normalized", "confusion_count")
COUNT_TEMPLATE = "confusion_count"
COUNT_FIELD = "count"
TEMPLATE_KEY = "mlops_ci_template"  # the plot's own template, beside DVC's stand-in
WORKSPACE = "workspace"

log = logging.getLogger(__name__)


def read_plots(
    root: Path, base_rev: str | None, *, base_name: str | None = None
) -> tuple[list[PlotDiff], int]:
    """The declared plots, base and head, and how many were left out beyond MAX_PLOTS.

    Run from *root* (DVC names files from the working directory). A plot that cannot be read
    is reported with a note, not an error: plots inform the reviewer, gates judge the change.
    A workspace file that leaves the repository or is not a regular file is an InputError.
    """
    from dvc.render.match import match_defs_renderers
    from dvc.repo import Repo
    from dvc.repo.plots import onerror_collect

    from mlops_ci.base_files import default_remote
    from mlops_ci.pipeline import use_our_log_handlers

    use_our_log_handlers()
    revs = [WORKSPACE, *([base_rev] if base_rev else [])]
    data: dict[str, Any] = {}
    images: dict[str, dict[str, str | None]] = {}  # path -> rev -> md5 (None: unreadable)
    errors: dict[tuple[str, str], str] = {}  # (rev, path) -> why it could not be read
    with Repo(str(root)) as repo:
        for part in repo.plots.collect(revs=revs, onerror=onerror_collect):
            for rev, content in part.items():
                _read_sources(root, rev, content, images, errors)
            data.update(part)
        remote = default_remote(repo)
    where = {WORKSPACE: "the workspace", base_rev or "": base_name or (base_rev or "")[:12]}
    _stand_in_templates(data)
    renderers = [r.renderer for r in match_defs_renderers(data) if r.renderer.TYPE == "vega"]
    if base_rev:
        generic = errors.pop((base_rev, ""), None)
        if generic:  # nothing was listed at the base: each plot of the workspace says why
            for path in [*(f for r in renderers for f in _files(r)), *images]:
                errors.setdefault((base_rev, path), generic)
        _explain_base(root, base_rev, where[base_rev], remote, errors)
    plots = [_from_renderer(r, base_rev, errors, where) for r in renderers]
    plots += [_image(path, md5s, base_rev, errors, where) for path, md5s in images.items()]
    return plots[:MAX_PLOTS], max(len(plots) - MAX_PLOTS, 0)


def _stand_in_templates(data: dict[str, Any]) -> None:
    """Give every definition a built-in DVC template, keeping its own under TEMPLATE_KEY:
    DVC's renderers open their template file when built, a `template:` may name any path, and
    one DVC cannot find (not in ``.dvc/plots``) would stop every plot. mlops-ci reads data."""
    for content in data.values():
        configs = ((content or {}).get("definitions") or {}).get("data") or {}
        for config in configs.values():
            definitions = config.get("data") if isinstance(config, dict) else None
            for props in (definitions or {}).values():
                if isinstance(props, dict) and props.get("template") is not None:
                    name = str(props["template"])
                    props[TEMPLATE_KEY] = name
                    props["template"] = "confusion" if name in CONFUSION_TEMPLATES else "linear"


def _read_sources(
    root: Path,
    rev: str,
    content: dict[str, Any],
    images: dict[str, dict[str, str | None]],
    errors: dict[tuple[str, str], str],
) -> None:
    """Replace each source's loader by its data, checked and bounded; images by their md5."""
    for part in (content.get("definitions") or {}, content.get("sources") or {}):
        if "error" in part:  # dvc.yaml's plots, or the files they name, could not be listed
            errors[(rev, "")] = f"DVC could not list the plots ({_short(part['error'])})"
            if rev == WORKSPACE:
                log.warning("mlops-ci: %s in the workspace; the report shows none.",
                            errors[(rev, "")])
    sources = (content.get("sources") or {}).get("data") or {}
    for path in list(sources):
        source = sources[path]
        loader = source.pop("data_source", None)
        if loader is None:
            continue
        image = path.lower().endswith(IMAGE_SUFFIXES)
        limit = MAX_IMAGE_BYTES if image else MAX_DATA_BYTES
        problem = _size_problem(root, rev, path, loader, limit)
        if problem is None:
            source.update(loader(cache=True))
            if "error" in source:
                problem = _short(source["error"])
        if image:
            del sources[path]  # not for DVC's renderers: they would inline it as base64
            raw = source.get("data")
            md5 = hashlib.md5(raw).hexdigest() if isinstance(raw, bytes) else None
            images.setdefault(path, {})[rev] = md5
        if problem is not None:
            errors[(rev, path)] = problem
            source.pop("data", None)
            source["error"] = problem


def _explain_base(
    root: Path, rev: str, name: str, remote: str | None, errors: dict[tuple[str, str], str]
) -> None:
    """A base file in a DVC-cached output that neither the cache nor the remote has: say so,
    with the fix, as for metrics (base_files.py)."""
    from mlops_ci.base_files import declared_at, unreadable_reason

    missing = [path for (r, path) in errors if r == rev]
    if not missing:
        return
    declared = declared_at(root, rev)
    for path in missing:
        holder = declared.holder(path)
        if holder is None or not holder[1]:
            continue  # not in a cached output: DVC's own reason stands
        reason = unreadable_reason(
            path, declared, revision=name, branch=name.removeprefix("origin/"), remote=remote
        )
        if reason:
            errors[(rev, path)] = reason.rstrip(".")


def _size_problem(root: Path, rev: str, path: str, loader: Any, limit: int) -> str | None:
    """Why *path* must not be read at *rev*; None when it may. Raises for a hostile path."""
    if rev == WORKSPACE:
        real = resolve_in_workspace(root, path, what="The plot file")
        check_regular_file(real, what="The plot file")
        try:
            size: int | None = real.stat().st_size
        except FileNotFoundError:
            return "it does not exist"
    else:
        fs = next(iter(getattr(loader, "args", ())), None)
        if fs is None:
            return "DVC did not say where to read it from"
        try:
            size = fs.info(path).get("size")
            if size is None:  # a file inside a cached directory: its listing has no sizes
                with fs.open(path, mode="rb", cache=True) as stream:
                    size = len(stream.read(limit + 1))
        except FileNotFoundError:
            return "it does not exist"
        except Exception as exc:  # a cached output neither in the cache nor the remote
            return _short(exc)
    if size is not None and size > limit:
        return f"it is {size:,} bytes, more than the {limit:,} a plot may be"
    return None


def _short(error: object) -> str:
    text = " ".join((str(error) or type(error).__name__).split()).rstrip(".")
    return text if len(text) <= 160 else text[:157] + "..."


def clean_text(value: object) -> str:
    """A name from the plot's files, bounded and writable (a lone surrogate becomes U+FFFD)."""
    text = " ".join(str(value).split())
    if not is_writable_text(text):
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _notes(
    paths: set[str], where: dict[str, str], errors: dict[tuple[str, str], str]
) -> list[str]:
    """Why each of *paths* could not be read, at either revision ("" is every path)."""
    return [
        why if why.startswith(f"{path} at ") else f"{path or 'dvc.yaml'} in {where[rev]}: {why}"
        for (rev, path), why in errors.items() if path in paths or not path
    ]


def _files(renderer: Any) -> set[str]:
    """The data files a DVC renderer drew its lines from."""
    anchors = renderer.properties.get("anchors_y_definitions") or []
    return {str(a.get("filename")) for a in anchors}


def _from_renderer(
    renderer: Any,
    base_rev: str | None,
    errors: dict[tuple[str, str], str],
    where: dict[str, str],
) -> PlotDiff:
    props = dict(renderer.properties)
    template = str(props.get(TEMPLATE_KEY) or props.get("template") or "linear")
    x_key, y_key = props.get("x"), props.get("y")
    files = _files(renderer)
    plot = PlotDiff(
        id=clean_text(renderer.name),
        kind="confusion" if template in CONFUSION_TEMPLATES else "series",
        title=clean_text(props.get("title") or renderer.name),
        template=clean_text(template),
        x_label=clean_text(props.get("x_label") or x_key or ""),
        y_label=clean_text(props.get("y_label") or y_key or ""),
    )
    by_rev: dict[str, list[dict[str, Any]]] = {}
    for point in renderer.datapoints:
        by_rev.setdefault(str(point.get("rev")), []).append(point)
    notes = _notes(files, where, errors)
    for rev, side in ((WORKSPACE, "head"), (base_rev, "base")):
        points = by_rev.get(rev or "", []) if rev else []
        if plot.kind == "confusion":
            counted = template == COUNT_TEMPLATE or _per_cell(points, str(x_key), str(y_key))
            matrix = _matrix(points, str(x_key), str(y_key), counted) if points else None
            setattr(plot, f"{side}_matrix", matrix)
        else:
            series, problem = _series(points, str(x_key), str(y_key), len(files) > 1)
            setattr(plot, side, series)
            if problem:
                notes.append(f"{where[rev or '']}: {problem}")
    plot.note = clean_text("; ".join(dict.fromkeys(notes))[:1000]) if notes else None
    return plot


def _series(
    points: list[dict[str, Any]], x_key: str, y_key: str, name_files: bool
) -> tuple[list[PlotSeries], str | None]:
    """The lines of one revision, one per (file, field); why some were not drawn, if any."""
    lines: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    skipped = 0
    for point in points:
        key = (str(point.get("filename")), str(point.get("field")))
        x, y = _number(point.get(x_key)), _number(point.get(y_key))
        if x is None or y is None:
            skipped += 1
            continue
        xs, ys = lines.setdefault(key, ([], []))
        xs.append(x)
        ys.append(y)
    series = []
    for (file, field), (xs, ys) in list(lines.items())[:MAX_SERIES]:
        name = clean_text(f"{file}: {field}" if name_files else field)
        if len(xs) > MAX_POINTS:
            grid = even_grid(min(xs), max(xs), MAX_POINTS)
            xs, ys, resampled = grid, resample(xs, ys, grid), True
        else:
            resampled = False
        series.append(
            PlotSeries(name, _rounded(xs), _rounded(ys), len(lines[file, field][0]), resampled)
        )
    problems = []
    if skipped:
        problems.append(f"{skipped:,} points without a number for {x_key} and {y_key} left out")
    if len(lines) > MAX_SERIES:
        problems.append(f"{len(lines) - MAX_SERIES} of {len(lines)} lines left out")
    return series, "; ".join(problems) or None


def _rounded(values: Sequence[float]) -> list[float]:
    """Seven significant digits: what a chart can show, at a third of the report's bytes."""
    return [float(f"{v:.7g}") for v in values]


def _number(value: Any) -> float | None:
    """A finite number from JSON, YAML or CSV (whose values are strings); None otherwise."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _per_cell(points: list[dict[str, Any]], x_key: str, y_key: str) -> bool:
    """One record per cell with its `count` (the evaluation's), not one per row: each has a
    count and no cell repeats."""
    if not points or COUNT_FIELD in (x_key, y_key):
        return False
    cells = {(str(p.get(x_key)), str(p.get(y_key))) for p in points}
    return len(cells) == len(points) and all(_count(p) is not None for p in points)


def _count(point: dict[str, Any]) -> int | None:
    """A record's `count`: a whole number >= 0 (JSON, YAML, or CSV text), else None."""
    number = _number(point.get(COUNT_FIELD))
    return int(number) if number is not None and number >= 0 and number.is_integer() else None


def _matrix(
    points: list[dict[str, Any]], x_key: str, y_key: str, counted: bool = False
) -> ConfusionMatrix:
    """Counts of (actual = x, predicted = y) pairs over MAX_CLASSES classes at most.

    *counted*: each record is a cell whose `count` is added (a record without a whole count
    adds nothing); otherwise each record is one row, as DVC's `confusion` template counts.
    """
    pairs = [(clean_text(p.get(x_key)), clean_text(p.get(y_key))) for p in points]
    weights = [(_count(p) or 0) if counted else 1 for p in points]
    labels = sort_labels({label for pair in pairs for label in pair})
    kept = labels[:MAX_CLASSES]
    index = {label: i for i, label in enumerate(kept)}
    counts = [[0] * len(kept) for _ in kept]
    for (actual, predicted), weight in zip(pairs, weights, strict=True):
        if actual in index and predicted in index:
            counts[index[actual]][index[predicted]] += weight
    return ConfusionMatrix(kept, counts, omitted=len(labels) - len(kept))


def sort_labels(labels: set[str] | Sequence[str]) -> list[str]:
    """Class labels in numeric order when they are all numbers, else in text order."""
    unique = sorted(set(labels))
    if all(_number(label) is not None for label in unique):
        return sorted(unique, key=lambda label: _number(label) or 0.0)
    return unique


def _image(
    path: str,
    md5s: dict[str, str | None],
    base_rev: str | None,
    errors: dict[tuple[str, str], str],
    where: dict[str, str],
) -> PlotDiff:
    """An image plot: its md5 at each revision (None where it is not, or unreadable)."""
    mine = _notes({path}, where, errors)
    shown = PurePosixPath(path).as_posix()
    return PlotDiff(
        id=clean_text(shown),
        kind="image",
        title=clean_text(shown),
        path=shown if clean_text(shown) == shown else None,
        base_md5=md5s.get(base_rev) if base_rev else None,
        head_md5=md5s.get(WORKSPACE),
        note=clean_text("; ".join(mine)) if mine else None,
    )


# --- resampling, pure: shared with render_plots ---


def even_grid(low: float, high: float, count: int) -> list[float]:
    """*count* evenly spaced values from *low* to *high*, both included."""
    if count < 2 or high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count - 1)] + [high]


def resample(xs: Sequence[float], ys: Sequence[float], grid: Sequence[float]) -> list[float]:
    """y at each grid value, by linear interpolation between the points sorted by x.

    Beyond the first and last x the end values hold. Where x repeats (a ROC curve's vertical
    step), the interpolation starts from the last point at that x.
    """
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    sx = [xs[i] for i in order]
    sy = [ys[i] for i in order]
    out = []
    for g in grid:
        i = bisect_right(sx, g) - 1
        if i < 0:
            out.append(sy[0])
        elif i >= len(sx) - 1:
            out.append(sy[-1])
        else:
            x0, x1, y0, y1 = sx[i], sx[i + 1], sy[i], sy[i + 1]
            out.append(y0 if x1 == x0 else y0 + (y1 - y0) * (g - x0) / (x1 - x0))
    return out
