"""Face stage: 68-point landmarks per frame, then similarity alignment and cropping."""
