# Stage 2 (short clips): temporal normalisation (TIM) -> magnification (optional) -> flow + strain.


rule normalise_clip:
    input:
        faces=rules.align_faces.output.faces,
    output:
        tim="results/tim/{dataset}/{video}.h5",
    log:
        "logs/normalise_clip/{dataset}/{video}.log",
    benchmark:
        "benchmarks/normalise_clip/{dataset}/{video}.tsv"
    params:
        onset=lambda wc: int(sample_row(wc).onset),
        apex=lambda wc: int(sample_row(wc).apex),
        offset=lambda wc: int(sample_row(wc).offset),
        fps=lambda wc: float(sample_row(wc).fps),
        interpolation=config["interpolation"],
    script:
        "../scripts/normalise_clip.py"


rule magnify_motion:
    input:
        tim=rules.normalise_clip.output.tim,
    output:
        magnified="results/magnified/{dataset}/{video}.h5",
    log:
        "logs/magnify_motion/{dataset}/{video}.log",
    benchmark:
        "benchmarks/magnify_motion/{dataset}/{video}.tsv"
    params:
        magnification=config["magnification"],
    script:
        "../scripts/magnify_motion.py"


rule compute_flow:
    input:
        clip=get_flow_source,
    output:
        flow="results/flow/{dataset}/{video}.h5",
    log:
        "logs/compute_flow/{dataset}/{video}.log",
    benchmark:
        "benchmarks/compute_flow/{dataset}/{video}.tsv"
    params:
        flow=config["flow"],
    script:
        "../scripts/compute_flow.py"
