"""Motion stage: temporal interpolation (TIM), magnification, optical flow and strain."""
