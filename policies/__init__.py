"""bosun's built-in policy library: Policy manifests read by ``reconciler.policy``.

Each ``*.yaml`` file here is one or more ``kind: Policy`` documents; see
README.md for what each rule checks and how a repository tunes them.
"""
