"""The Hugging Face Hub: pushing and pulling checkpoints, deploying the explorer as a Space.

    sync    push, pull, deploy-space and their command line (`python -m rflr.hub`)
    plan    what a push or deploy would upload, file by file
    cards   the generated model card, Space README and Dockerfile (pure text)
    locate  a path, or a Hub repo pulled into the cache; every pull's failure as one error

Imports: rflr.files; huggingface_hub only inside rflr.hub.sync.
"""
