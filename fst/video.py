"""Video files in and out (PyAV): frames decoded upright at their own timestamps, and a writer that keeps them.

Phones record at a variable frame rate and store portrait videos as landscape frames with a rotation beside them.
Frames are therefore turned upright as they are decoded (the output says rotation 0 and looks the same), and each
is encoded at its input timestamp in the input's time base, so no two frames round to the same instant. The
writer picks codecs the container can hold: H.264 (VP9 and Opus in WebM); audio is copied where the container
takes its codec and re-encoded (AAC, Opus in WebM) where it does not. The webcam records through the same writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

from PIL import Image

from fst.errors import FstError
from fst.files import atomic_write
from fst.media import pipeline

MAX_FRAME_PIXELS = 2 * Image.MAX_IMAGE_PIXELS  # what PIL refuses as a decompression bomb in an image file
VIDEO_CODECS = {".webm": "libvpx-vp9"}  # every other video suffix: libx264
VIDEO_OPTIONS = {  # x264's veryfast at crf 18: the same quality target, and at 640x360 the encoder no longer takes
    # the cores from the stylizing (a realtime network's video: 38-41 frames/s end to end against 27-28 at medium,
    # 0.97 of the stylizing alone against 0.85, and a file 11% smaller)
    "libx264": {"crf": "18", "preset": "veryfast"},
    "libvpx-vp9": {"crf": "24", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
}
AUDIO_KEPT = {  # the audio codecs each container takes as they are; .mkv takes any
    ".webm": {"opus", "vorbis"},
    ".mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    ".m4v": {"aac", "mp3", "alac", "ac3", "eac3"},
    ".mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    ".avi": {"mp3", "ac3", "aac", "pcm_s16le", "pcm_u8"},
}
TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


def upright(frame) -> Image.Image:
    """A decoded frame as a PIL image the way players show it: its display rotation (degrees counter-clockwise,
    as FFmpeg reports it) applied, as `ffmpeg` does by default."""
    image = frame.to_image()
    turn = TURNS.get(round(frame.rotation) % 360)  # PIL turns counter-clockwise too
    return image.transpose(turn) if turn is not None else image


def check_frame_size(stream, source: Path) -> None:
    """Refuse a video whose header declares frames larger than an image file may be (a decompression bomb)."""
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > MAX_FRAME_PIXELS:
        raise FstError(
            f"{source} declares frames of {width}x{height}, over the limit of {MAX_FRAME_PIXELS / 1e6:.0f} megapixels "
            "a frame (as for an image file): refusing to decode it"
        )


class VideoWriter:
    """Frames (PIL images) into an open output container, each at the timestamp given in `time_base`; the video
    stream is added at the first frame, when its size is known, and audio packets that come before it wait."""

    def __init__(self, container, suffix: str, time_base: Fraction, rate: Fraction, audio_in=None) -> None:
        self.container, self.suffix, self.time_base, self.rate = container, suffix.lower(), time_base, rate
        self.video = None
        self.waiting: list = []
        self.last_pts: int | None = None
        self.frames = 0
        self.audio, self.transcode = None, False
        if audio_in is not None:
            kept = AUDIO_KEPT.get(self.suffix)
            if kept is None or audio_in.codec_context.name in kept:
                self.audio = container.add_stream_from_template(audio_in)
            else:
                self.audio, self.transcode = self._audio_encoder(audio_in), True

    def _audio_encoder(self, audio_in):
        codec = "libopus" if self.suffix == ".webm" else "aac"
        rate = 48000 if codec == "libopus" else audio_in.codec_context.sample_rate
        stream = self.container.add_stream(codec, rate=rate)
        stream.layout = "mono" if audio_in.codec_context.channels == 1 else "stereo"
        return stream

    def _add_video(self, size: tuple[int, int]) -> None:
        codec = VIDEO_CODECS.get(self.suffix, "libx264")
        self.video = self.container.add_stream(codec, rate=self.rate)
        self.video.width, self.video.height = size
        self.video.pix_fmt = "yuv420p" if size[0] % 2 == 0 and size[1] % 2 == 0 else "yuv444p"
        self.video.codec_context.time_base = self.time_base  # the input's own: its timestamps are not rounded
        self.video.time_base = self.time_base
        self.video.options = dict(VIDEO_OPTIONS[codec])
        for packet in self.waiting:
            self.container.mux(packet)
        self.waiting = []

    def add_audio(self, packet) -> None:
        """An audio packet of the input: copied, or decoded and re-encoded for this container."""
        if self.transcode:
            packets = [p for frame in packet.decode() for p in self.audio.encode(frame)]
        else:
            packet.stream = self.audio
            packets = [packet]
        if self.video is None:
            self.waiting += packets
        else:
            self.container.mux(packets)

    def add(self, image: Image.Image, pts: int | None) -> None:
        """A frame at `pts` (in time_base); one without a timestamp, or one not after the last, comes one frame
        period after the last, so the encoder never sees two frames at one instant."""
        import av

        if self.video is None:
            self._add_video(image.size)
        elif image.size != (self.video.width, self.video.height):
            image = image.resize((self.video.width, self.video.height), Image.Resampling.BICUBIC)
        if self.last_pts is not None and (pts is None or pts <= self.last_pts):
            pts = self.last_pts + max(1, round(1 / (self.rate * self.time_base)))
        frame = av.VideoFrame.from_image(image.convert("RGB"))
        frame.pts, frame.time_base = pts or 0, self.time_base
        self.last_pts = frame.pts
        self.container.mux(self.video.encode(frame))
        self.frames += 1

    def close(self) -> None:
        """Flush the encoders; FstError when not one frame was written."""
        if self.video is None:
            raise FstError("no video frames were written")
        self.container.mux(self.video.encode())
        if self.transcode:
            self.container.mux(self.audio.encode())


def transform_video(
    source: Path,
    target: Path,
    transform: Callable[[Image.Image], Image.Image],
    on_frame: Callable[[], None],
    replace: bool = True,
    workers: int = 1,
) -> int:
    """Re-encode `source` into `target` (codecs by its suffix) with every frame passed through `transform`, at its
    own timestamp; the audio is kept. Returns the number of frames written. A file FFmpeg cannot decode or encode
    is a one-line FstError, and nothing is written. replace=False: as fst.media.save_image. workers: how many
    frames `transform` takes at once, from threads of their own (VideoStylizer.parallel); the order is kept."""
    import av

    try:
        with av.open(str(source)) as src, atomic_write(target, replace) as tmp:
            if not src.streams.video:
                raise FstError(f"{source} has no video stream")
            video_in = src.streams.video[0]
            check_frame_size(video_in, source)
            audio_in = src.streams.audio[0] if src.streams.audio else None
            rate = video_in.average_rate or video_in.guessed_rate or Fraction(30)
            with av.open(str(tmp), "w") as dst:
                writer = VideoWriter(dst, target.suffix, video_in.time_base or Fraction(1, 90000), rate, audio_in)

                def decoded() -> Iterator[tuple]:  # (frame, pts) for a video frame, (packet, None) for audio
                    for packet in src.demux([s for s in (video_in, audio_in) if s is not None]):
                        if packet.stream is audio_in:
                            if packet.dts is not None:
                                yield packet, None
                            continue
                        for frame in packet.decode():
                            yield upright(frame), frame.pts

                def stylized(item: tuple) -> tuple:
                    content, pts = item
                    return (transform(content), pts) if isinstance(content, Image.Image) else item

                def encode(item: tuple) -> None:
                    content, pts = item
                    if isinstance(content, Image.Image):
                        writer.add(content, pts)
                        on_frame()
                    else:
                        writer.add_audio(content)

                pipeline(decoded(), stylized, encode, workers=workers)
                try:
                    writer.close()
                except FstError:
                    raise FstError(f"{source} has no decodable video frames") from None
            return writer.frames
    except (av.error.FFmpegError, ValueError) as e:
        raise FstError(f"cannot decode or encode {source} ({e})") from None
    except MemoryError:
        raise FstError(f"not enough memory to decode {source}") from None


@contextmanager
def recording(target: Path, replace: bool) -> Iterator[VideoWriter]:
    """A VideoWriter for frames timed in milliseconds (a live camera's, at whatever rate it delivers them), whose
    file appears at `target` only once it is complete (fst.files.atomic_write; replace=False as save_image)."""
    import av

    try:
        with atomic_write(target, replace) as tmp, av.open(str(tmp), "w") as container:
            writer = VideoWriter(container, target.suffix, Fraction(1, 1000), Fraction(30))
            yield writer
            if not writer.frames:
                raise FstError(f"no frame came from the camera: nothing recorded to {target}")
            writer.close()
    except (av.error.FFmpegError, ValueError) as e:
        raise FstError(f"cannot write {target} ({e})") from None


def count_frames(path: Path) -> int:
    """Frames in a video's first video stream (from the header when it says, else by decoding)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise FstError(f"{path} has no video stream")
            stream = container.streams.video[0]
            check_frame_size(stream, path)
            return stream.frames or sum(1 for _ in container.decode(stream))
    except av.error.FFmpegError as e:
        raise FstError(f"cannot decode {path} ({e})") from None
