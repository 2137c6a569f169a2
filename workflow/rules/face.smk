# Stage 1: landmarks per frame, then aligned and cropped faces; QC of both.
#
# Jobs handle chunks of videos (batching.clips_per_job; mexp_lib.chunks.plan_chunks), not one
# video each: a job's interpreter start-up, imports and the dlib models' loading (~1-2 s) are
# paid once per chunk. Snakemake cannot declare a varying list of per-video files as a job's
# outputs, so a chunk's output is a folder, results/<stage>/{dataset}/{chunk}/, holding one file
# per video, as before; each stage keeps its own rule, so a setting reruns its stage's chunks and
# what depends on them, never anything upstream. Fusing the stages into one job per clip was the
# other way, and it was left out: a flow setting would rerun landmark detection, and a clip would
# still pay a start-up.


rule detect_landmarks:
    input:
        frames=get_chunk_frames,
    output:
        landmarks=directory("results/landmarks/{dataset}/{chunk}"),
    log:
        "logs/detect_landmarks/{dataset}/{chunk}.log",
    benchmark:
        "benchmarks/detect_landmarks/{dataset}/{chunk}.tsv"
    params:
        videos=chunk_videos,
        settings=get_settings("detect_landmarks"),
        inputs=get_chunk_fingerprints,
    script:
        "../scripts/detect_landmarks.py"


rule align_faces:
    input:
        frames=get_chunk_frames,
        landmarks=rules.detect_landmarks.output.landmarks,
    output:
        faces=directory("results/faces/{dataset}/{chunk}"),
    log:
        "logs/align_faces/{dataset}/{chunk}.log",
    benchmark:
        "benchmarks/align_faces/{dataset}/{chunk}.tsv"
    params:
        videos=chunk_videos,
        settings=get_settings("align_faces"),
    script:
        "../scripts/align_faces.py"


rule qc_faces:
    input:
        landmarks=lambda wc: get_face_chunks(wc, "landmarks"),
        faces=get_face_chunks,
    output:
        table="results/qc/{dataset}_faces.csv",
        page=report(
            "results/qc/{dataset}_faces.html",
            caption="../report/qc_table.rst",
            category="Face QC",
            subcategory="{dataset}",
            labels={"result": "QC table"},
        ),
        crops=report(
            directory("results/qc/{dataset}_faces"),
            patterns=["crops_{page}.png"],
            caption="../report/qc_faces.rst",
            category="Face QC",
            subcategory="{dataset}",
            labels={"result": "aligned crops {page}"},
        ),
    log:
        "logs/qc_faces/{dataset}.log",
    benchmark:
        "benchmarks/qc_faces/{dataset}.tsv"
    params:
        landmarks=lambda wc: get_face_files(wc, "landmarks"),
        faces=get_face_files,
        settings=get_settings("qc_faces"),
    script:
        "../scripts/qc_faces.py"
