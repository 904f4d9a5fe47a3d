import threading

import pytest
from PIL import Image

from fst.errors import FstError
from fst.media import Job, in_order, pipeline, plan_jobs, save_image


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.png", "sub/clip.mp4", "notes.txt"):
        (tmp_path / "in" / name).write_bytes(b"")
    return tmp_path / "in"


def test_one_file_to_a_file_and_folders_mirrored(inputs, tmp_path):
    out = tmp_path / "out"
    assert plan_jobs([str(inputs / "a.jpg")], str(out / "x.png")) == [Job(inputs / "a.jpg", out / "x.png")]
    assert plan_jobs([str(inputs / "a.jpg")], str(out)) == [Job(inputs / "a.jpg", out / "a.jpg")]
    jobs = plan_jobs([str(inputs)], str(out))
    relative = [(j.source.relative_to(inputs).as_posix(), j.target.relative_to(out).as_posix(), j.is_video)
                for j in jobs]  # fmt: skip
    assert relative == [
        ("a.jpg", "a.jpg", False), ("sub/b.png", "sub/b.png", False), ("sub/clip.mp4", "sub/clip.mp4", True),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("inputs_of", "output", "message"),
    [
        (lambda d: [str(d / "a.jpg"), str(d / "sub" / "b.png")], "out.png",
         "--output out.png looks like a file, but there are 2 inputs: give a folder"),
        (lambda d: [str(d / "a.jpg")], "out.mp4", "--output out.mp4: .mp4 is not a image type; use one of"),
        (lambda d: [str(d / "a.jpg"), str(d / "a.jpg")], "out", "two inputs would both be written to out/a.jpg"),
        (lambda d: [str(d / "missing.jpg")], "out", "input not found: "),
        (lambda d: [str(d / "*.gif")], "out", "no images or videos match "),
    ],
)  # fmt: skip
def test_planning_errors_come_before_any_work(inputs, tmp_path, monkeypatch, inputs_of, output, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FstError, match=message.replace(".", r"\.")):
        plan_jobs(inputs_of(inputs), output)
    assert not (tmp_path / "out").exists()


def test_never_plans_to_write_over_an_input(inputs):
    with pytest.raises(FstError, match="refusing to write over the input .*a.jpg"):
        plan_jobs([str(inputs / "a.jpg")], str(inputs / "a.jpg"))
    painting = str(inputs / "painting.jpg")  # read by the run beside its inputs, as a painting is: kept, --overwrite
    with pytest.raises(FstError, match=f"refusing to write over the input {inputs}/painting.jpg"):
        plan_jobs([str(inputs / "a.jpg")], painting, (painting,))
    assert plan_jobs([str(inputs / "a.jpg")], str(inputs / "b.jpg"), (painting,))[0].target == inputs / "b.jpg"


def test_save_image_keeps_alpha_only_where_the_format_can(tmp_path):
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    save_image(image, tmp_path / "a.png")
    save_image(image, tmp_path / "a.jpg")
    assert Image.open(tmp_path / "a.png").mode == "RGBA"
    assert Image.open(tmp_path / "a.jpg").convert("RGB").getpixel((4, 4)) == (255, 255, 255)  # on white
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.png"]


def test_pipeline_keeps_every_item_in_order():
    out = []
    pipeline(iter(range(50)), lambda x: x * x, out.append, depth=2)
    assert out == [x * x for x in range(50)]


def test_pipeline_stages_overlap():
    """Stylizing frame 0 waits until the decoder has read ahead to frame 2; stylizing frame 1 waits until frame 0
    is encoded. Run one after another, the stages would never see those events and the waits would time out."""
    read_ahead, encoded, seen = threading.Event(), threading.Event(), []

    def produce():
        for i in range(4):
            if i == 2:
                read_ahead.set()
            yield i

    def transform(i):
        if i == 0:
            seen.append(read_ahead.wait(timeout=10))
        if i == 1:
            seen.append(encoded.wait(timeout=10))
        return i

    pipeline(produce(), transform, lambda i: encoded.set() if i == 0 else None)
    assert seen == [True, True]


def test_pipeline_workers_run_items_at_once_and_keep_their_order():
    """Three workers: item 0 waits until items 1 and 2 have started, so one at a time would time out; the results
    still come out in the items' order though item 0 finishes last."""
    started = [threading.Event() for _ in range(9)]
    waited = []

    def transform(i):
        started[i].set()
        if i == 0:
            waited.append(started[1].wait(timeout=10) and started[2].wait(timeout=10))
        return i * i

    out = []
    pipeline(iter(range(9)), transform, out.append, depth=2, workers=3)
    assert waited == [True] and out == [i * i for i in range(9)]


def test_in_order_with_one_worker_runs_in_the_callers_thread():
    caller = threading.get_ident()
    assert list(in_order(range(4), lambda i: (i, threading.get_ident() == caller))) == [(i, True) for i in range(4)]


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("stage", ["produce", "transform", "consume"])
def test_pipeline_raises_the_error_of_any_stage_and_ends_its_threads(stage, workers):
    threads = threading.active_count()

    def fail_at_3(i):
        if i == 3:
            raise ValueError(f"{stage} failed")
        return i

    def produce():
        for i in range(100):
            yield fail_at_3(i) if stage == "produce" else i

    transform = fail_at_3 if stage == "transform" else (lambda i: i)
    consume = fail_at_3 if stage == "consume" else (lambda i: None)
    with pytest.raises(ValueError, match=f"{stage} failed"):
        pipeline(produce(), transform, consume, depth=2, workers=workers)
    assert threading.active_count() == threads
