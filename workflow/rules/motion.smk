# Stage 2 (recognition): each sample's clip cut from its video's faces by its own onset..offset
# and temporally normalised (TIM) -> magnification (optional) -> flow + strain.
#
# Jobs handle chunks (face.smk says why): chunk c of these stages holds the recognition clips
# cut from the videos of chunk c of the face stages, one file per sample in
# results/<stage>/{dataset}/{chunk}/, so a chunk is one chain of jobs from landmarks to flow.


rule normalise_clip:
    input:
        faces=rules.align_faces.output.faces,
    output:
        tim=directory("results/tim/{dataset}/{chunk}"),
    log:
        "logs/normalise_clip/{dataset}/{chunk}.log",
    benchmark:
        "benchmarks/normalise_clip/{dataset}/{chunk}.tsv"
    params:
        clips=get_chunk_clips,
        settings=get_settings("normalise_clip"),
    script:
        "../scripts/normalise_clip.py"


rule magnify_motion:
    input:
        tim=rules.normalise_clip.output.tim,
    output:
        magnified=directory("results/magnified/{dataset}/{chunk}"),
    log:
        "logs/magnify_motion/{dataset}/{chunk}.log",
    benchmark:
        "benchmarks/magnify_motion/{dataset}/{chunk}.tsv"
    params:
        samples=get_chunk_sample_ids,
        settings=get_settings("magnify_motion"),
    script:
        "../scripts/magnify_motion.py"


rule compute_flow:
    input:
        clips=get_flow_source,
    output:
        flow=directory("results/flow/{dataset}/{chunk}"),
    log:
        "logs/compute_flow/{dataset}/{chunk}.log",
    benchmark:
        "benchmarks/compute_flow/{dataset}/{chunk}.tsv"
    params:
        samples=get_chunk_sample_ids,
        pairs=get_flow_pairs,
        settings=get_settings("compute_flow"),
    script:
        "../scripts/compute_flow.py"
