"""The names `model.task` accepts: our short forms and every Hugging Face pipeline tag.

The pipeline tags are the Hub's official list, ``PIPELINE_TYPES`` of the npm package
``@huggingface/tasks`` (0.21.54; ``packages/tasks/src/pipelines.ts`` in huggingface.js). This
module is the one place the list is kept: ``schema/mlops.schema.json`` enumerates the same names
for editors, and a test holds the two equal.
"""

from __future__ import annotations

PIPELINE_TAGS: tuple[str, ...] = (
    "text-classification", "token-classification", "table-question-answering",
    "question-answering", "zero-shot-classification", "translation", "summarization",
    "feature-extraction", "text-generation", "fill-mask", "sentence-similarity",
    "text-to-speech", "text-to-audio", "automatic-speech-recognition", "audio-to-audio",
    "audio-classification", "audio-text-to-text", "voice-activity-detection", "depth-estimation",
    "image-classification", "object-detection", "image-segmentation", "text-to-image",
    "image-to-text", "image-to-image", "image-to-video", "unconditional-image-generation",
    "video-classification", "reinforcement-learning", "robotics", "tabular-classification",
    "tabular-regression", "tabular-to-text", "table-to-text", "multiple-choice", "text-ranking",
    "text-retrieval", "time-series-forecasting", "text-to-video", "image-text-to-text",
    "image-text-to-image", "image-text-to-video", "visual-question-answering",
    "document-question-answering", "zero-shot-image-classification", "graph-ml",
    "mask-generation", "zero-shot-object-detection", "text-to-3d", "image-to-3d",
    "image-feature-extraction", "video-text-to-text", "keypoint-detection",
    "visual-document-retrieval", "any-to-any", "video-to-video", "other",
)

# Our short forms (tabular models, the common case) → the pipeline tag they stand for.
SHORT_TASKS: dict[str, str] = {
    "binary-classification": "tabular-classification",
    "multiclass-classification": "tabular-classification",
    "regression": "tabular-regression",
}

TASKS: tuple[str, ...] = (*SHORT_TASKS, *PIPELINE_TAGS)


def pipeline_tag(task: str) -> str | None:
    """The card's ``pipeline_tag`` for *task*; None when no real tag says what the model does.

    ``other`` is on the Hub's list but tells a reader nothing, so it is left out, as is any name
    that is not on the list (a report can be written by another version of mlops-ci).
    """
    tag = SHORT_TASKS.get(task, task)
    return tag if tag in PIPELINE_TAGS and tag != "other" else None
