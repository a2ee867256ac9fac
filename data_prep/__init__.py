"""Stage 1 of ser-keras: corpus adapters, feature extractors and the store writer.

Run it with ``ser-prepare <corpus> <path>`` (see ``data_prep.cli``). Everything that decodes
audio, runs openSMILE/librosa or a text encoder lives here and runs once per corpus; the
training side (``ser_keras``) only reads the store this stage writes.
"""
