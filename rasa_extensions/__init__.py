"""Code that runs inside the Rasa server (not the action server), through Rasa's supported
extension points only: the privacy-preserving tracker store (`tracker_store.py`), the incremental
SQL tracker store (`sql_tracker_store.py`, with `tracker_check.py`: state copies of trackers and
the self-check against Rasa's replay), the atomic Redis lock store (`lock_store.py`) and the NLU
components (`nlu/`). Rasa loads them by their module paths from endpoints files and config.yml,
in `rasa run`, `rasa train` and `rasa test` alike.

Nothing here replaces Rasa's own code: the speed-ups of Rasa internals are the separate package
`rasa_speedups/`, installed only by its launcher (`python -m rasa_speedups run ...`), and this
package never imports it.
"""
