"""Files and where they are: checkpoints, their validated headers, provenance, repo ids.

    checkpoint  safetensors files, format version 1: save, list headers, load strictly
    header      the one validation boundary for metadata (typed records, never raw dicts)
    provenance  where and how a sweep ran
    repo_id     the USER/NAME rule of a Hugging Face repo id
    paths       the default checkpoints folder and path errors
    names       names from outside made safe to print (control characters escaped)

Imports: rflr.core and rflr.measure.
"""
