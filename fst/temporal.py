"""Temporal stabilization of stylized video: a motion-compensated recursive filter.

A feed-forward network stylizes each frame on its own, and its strokes answer to every 1-pixel shift and every bit
of sensor noise, so a video stylized frame by frame boils. This filter lets each output pixel follow the motion:

    flow      = DIS optical flow from frame t back to frame t-1 (Kroeger et al. 2016; real time on a CPU)
    warped    = the previous *output* moved along the flow onto frame t (bicubic: bilinear blurs as it recurs)
    visible   = exp(-sensitivity * |photo_t - warped photo_t-1|^2)   (the occlusion mask of Lai et al. 2018)
    agree     = exp(-stroke_sensitivity * |stylized_t - warped|^2)
    output_t  = stylized_t + blend * visible * agree * (warped - stylized_t)

Where the scene is visible in both frames the output is an exponential moving average along motion paths (the
motion-compensated recursive filter of video denoising), so stroke noise that is independent from frame to frame
shrinks; where the flow is wrong, something appears or the light changes, the photos disagree after warping and
the output falls back to the new frame, so nothing ghosts. Averaging strokes that disagree blurs them, which is
what costs style; `agree` lets a new stroke that differs strongly from the old one replace it instead, so the
average smooths small flicker and keeps strokes crisp (docs/video.md has the measured trade-off). The filter keeps
one frame of state: memory is flat over any length of video.
"""

from __future__ import annotations

import cv2
import numpy as np

BLEND = 0.8  # weight of the warped previous output where it is visible and agrees (docs/video.md)
SENSITIVITY = 50.0  # Lai et al. 2018's mask exponent, on colours in [0, 1]
STROKE_SENSITIVITY = 20.0  # the same for the stylized frames (docs/video.md)


def warp(image: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`image` (H, W, C float32) pulled along `flow` onto the next frame, bicubic; also the (H, W) mask of pixels
    whose source lies inside the image (1) or outside it (0, where the warped value means nothing)."""
    h, w = flow.shape[:2]
    x = np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]
    y = np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]
    warped = cv2.remap(image, x, y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    return warped.reshape(image.shape), inside.astype(np.float32)


def channel_mean(image: np.ndarray, scale: float) -> np.ndarray:
    """`scale` times the mean over the channels of an (H, W, C) float32 image, (H, W): by OpenCV, twice as fast as
    numpy's mean over the last axis, which took most of the filter's time."""
    return cv2.transform(image, np.full((1, image.shape[2]), scale / image.shape[2], np.float32))


def gray(photo: np.ndarray) -> np.ndarray:
    """The uint8 luminance optical flow runs on."""
    return cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)


class TemporalFilter:
    """Feed it (photo, stylized) frame by frame, in order; it returns the stabilized stylized frame.

    photo: the network's input frame, (H, W, 3) uint8 RGB. stylized: the network's output for it, the same shape,
    float32 in 0..255. The first frame, and a frame of another size than the last, start afresh.
    """

    def __init__(
        self, blend: float = BLEND, sensitivity: float = SENSITIVITY, stroke_sensitivity: float = STROKE_SENSITIVITY
    ) -> None:
        if not 0.0 <= blend < 1.0:
            raise ValueError(f"blend {blend}: expected 0 <= blend < 1")
        self.blend, self.sensitivity, self.stroke_sensitivity = blend, sensitivity, stroke_sensitivity
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # gray, photo, output

    def reset(self) -> None:
        """Forget the previous frame: the next one is taken as it is (a cut, a new clip)."""
        self.previous = None

    def __call__(self, photo: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        if stylized.shape != photo.shape:
            raise ValueError(f"stylized frame {stylized.shape} and photo {photo.shape} differ in size")
        luma, colours = gray(photo), photo.astype(np.float32)
        output = stylized.astype(np.float32)
        if self.previous is not None and self.previous[0].shape == luma.shape:
            previous_gray, previous_photo, previous_output = self.previous
            # Backward flow: pixel (x, y) of this frame was at (x + fx, y + fy) in the previous one.
            flow = self.flow.calc(luma, previous_gray, None)
            warped_output, inside = warp(previous_output, flow)
            warped_photo, _ = warp(previous_photo, flow)
            change, scratch = warped_output - output, colours - warped_photo
            exponent = channel_mean(np.square(scratch, out=scratch), -self.sensitivity / 255**2)
            exponent += channel_mean(np.multiply(change, change, out=scratch), -self.stroke_sensitivity / 255**2)
            weight = self.blend * inside * np.exp(exponent)
            output += weight[..., None] * change
        self.previous = (luma, colours, output)
        return output
