# Stage 2 (recognition, one job per sample): the sample's clip cut from its video's faces by its
# own onset..offset and temporally normalised (TIM) -> magnification (optional) -> flow + strain.


rule normalise_clip:
    input:
        faces=get_sample_faces,
    output:
        tim="results/tim/{dataset}/{sample}.h5",
    log:
        "logs/normalise_clip/{dataset}/{sample}.log",
    benchmark:
        "benchmarks/normalise_clip/{dataset}/{sample}.tsv"
    params:
        clip=get_clip,
        interpolation=config["interpolation"],
    script:
        "../scripts/normalise_clip.py"


rule magnify_motion:
    input:
        tim=rules.normalise_clip.output.tim,
    output:
        magnified="results/magnified/{dataset}/{sample}.h5",
    log:
        "logs/magnify_motion/{dataset}/{sample}.log",
    benchmark:
        "benchmarks/magnify_motion/{dataset}/{sample}.tsv"
    params:
        magnification=config["magnification"],
    script:
        "../scripts/magnify_motion.py"


rule compute_flow:
    input:
        clip=get_flow_source,
    output:
        flow="results/flow/{dataset}/{sample}.h5",
    log:
        "logs/compute_flow/{dataset}/{sample}.log",
    benchmark:
        "benchmarks/compute_flow/{dataset}/{sample}.tsv"
    params:
        flow=config["flow"],
        pairs=get_flow_pairs,
    script:
        "../scripts/compute_flow.py"
