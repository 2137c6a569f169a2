# Stage 1: landmarks per frame, then aligned and cropped faces; QC of both.


rule detect_landmarks:
    input:
        frames=get_frames,
    output:
        landmarks="results/landmarks/{dataset}/{video}.json",
    log:
        "logs/detect_landmarks/{dataset}/{video}.log",
    benchmark:
        "benchmarks/detect_landmarks/{dataset}/{video}.tsv"
    params:
        frames=lambda wc: video_row(wc).frames,
        numbering=lambda wc: video_row(wc).numbering,
        strategy=get_strategy,
        face=section_params("face", FACE_DETECT_KEYS),
    script:
        "../scripts/detect_landmarks.py"


rule align_faces:
    input:
        frames=get_frames,
        landmarks=rules.detect_landmarks.output.landmarks,
    output:
        faces="results/faces/{dataset}/{video}.h5",
    log:
        "logs/align_faces/{dataset}/{video}.log",
    benchmark:
        "benchmarks/align_faces/{dataset}/{video}.tsv"
    params:
        frames=lambda wc: video_row(wc).frames,
        numbering=lambda wc: video_row(wc).numbering,
        face=section_params("face", FACE_ALIGN_KEYS),
    script:
        "../scripts/align_faces.py"


rule qc_faces:
    input:
        landmarks=get_landmark_files,
        faces=get_face_stores,
    output:
        table="results/qc/{dataset}_faces.csv",
        page=report("results/qc/{dataset}_faces.html", caption="../report/qc_table.rst", category="Face QC", subcategory="{dataset}", labels={"result": "QC table"}),
        crops=report(directory("results/qc/{dataset}_faces"), patterns=["crops_{page}.png"], caption="../report/qc_faces.rst",
                     category="Face QC", subcategory="{dataset}", labels={"result": "aligned crops {page}"}),
    log:
        "logs/qc_faces/{dataset}.log",
    benchmark:
        "benchmarks/qc_faces/{dataset}.tsv"
    script:
        "../scripts/qc_faces.py"
