"""Two messages of one user released at the same instant on both Rasa servers (AtomicRedisLockStore).

With Rasa 3.6's own `redis` lock store 10 of 30 rounds lost a message when measured."""
import re
import threading
import uuid

from tests.cluster.test_cluster import say, stored_events, user_texts

ROUNDS = 10


def test_two_messages_released_at_the_same_instant_on_both_servers_are_both_kept_in_separate_turns(cluster):
    servers = [cluster.settings.rasa_url(0), cluster.settings.rasa_url(1)]
    references = ["NKS-ZZZZZZZA", "NKS-ZZZZZZZB"]
    for _ in range(ROUNDS):
        user = f"cluster-{uuid.uuid4().hex[:8]}"
        barrier = threading.Barrier(2)

        def send(index: int) -> None:
            barrier.wait()
            say(servers[index], user, f"cek status pengajuan {references[index]}")

        threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        events = stored_events(cluster, servers[0], user)
        assert sorted(user_texts(events)) == [f"cek status pengajuan {reference}" for reference in references]
        current = None
        for event in events:
            if event["event"] == "user":
                current = re.search(r"NKS-\w+", event["text"]).group(0)
            elif event["event"] == "bot" and "NKS-" in (event.get("text") or ""):
                assert current in event["text"]
