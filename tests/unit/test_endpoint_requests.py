"""EndpointConfig.request as the endpoint_requests speed-up (rasa_speedups/) replaces it: what Rasa's
sends, on one connection."""
import asyncio
import json

import pytest
from aiohttp import web
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

import rasa_speedups
from rasa_speedups import endpoint_requests


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The endpoint_requests speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("endpoint_requests"):
        yield


def test_requests_keep_rasas_contract_and_reuse_one_connection():
    seen = []
    body = {"tracker": {"events": [{"event": "user", "text": "Halo, saya mau vaksin / daftar é"}],
                        "confidence": 0.875}, "next_action": "action_x"}

    async def webhook(request: web.Request) -> web.Response:
        seen.append({"peer": request.transport.get_extra_info("peername"), "body": await request.read(),
                     "content_type": request.headers.get("Content-Type"), "secret": request.headers.get("X-Secret"),
                     "token": request.query.get("token")})
        if request.path == "/fail":
            return web.Response(status=500, text="rusak")
        return web.json_response({"events": [], "echo": json.loads(await request.read())})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        app.router.add_post("/fail", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(url=f"http://127.0.0.1:{port}", headers={"X-Secret": "s3"}, token="t0k")
        try:
            first = await endpoint.request(json=body, method="post", subpath="webhook")
            second = await endpoint.request(json=body, method="post", subpath="webhook")
            assert first["echo"] == body and second["echo"] == body
            with pytest.raises(ClientResponseError) as failed:
                await endpoint.request(json=body, method="post", subpath="fail")
            assert failed.value.status == 500
        finally:
            await endpoint_requests.shared_session(endpoint).close()
            await runner.cleanup()

    asyncio.run(main())
    assert EndpointConfig.request is endpoint_requests.request
    assert all(call["content_type"] == "application/json" and call["secret"] == "s3" and call["token"] == "t0k"
               for call in seen)
    assert len({call["peer"] for call in seen}) == 1          # one kept-alive connection for all three
    assert json.loads(seen[0]["body"]) == json.loads(json.dumps(body))


def test_bodies_decode_to_what_the_standard_module_would_have_sent():
    value = {"text": "Kode OTP saya 12 34 / \u00e9 \U0001F600", "confidence": 0.1 + 0.2, "n": 2 ** 70,
             "nested": [None, True, {"slot": [1.5e-9, -0.0]}]}
    assert json.loads(endpoint_requests.encode_json(value)) == json.loads(json.dumps(value))
