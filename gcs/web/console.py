"""How a refused request is answered: Pilot's way or the web console's way.

Two kinds of clients call the API and read errors differently:

* **DJI Pilot 2 and the station's H5 pages** (protocol §8.2, §8.3) act on the HTTP status: 400
  is "parameter error", 401 logs the user out of the cloud platform, 403 "no permission", 404
  "resource not found". Their endpoints keep answering with those statuses.
* **Web consoles** (§8.4; DJI's demo front end, dji-sdk/Cloud-API-Demo-Web) follow DJI's backend
  (DJI-Cloud-API-Demo), whose `HttpResultResponse` and exception handler answer every
  application error with HTTP 200 and a non-zero `code` and a `message`; the front end shows
  that message, while for any other status it shows only "ERROR_CODE: <status>". Only a missing
  or invalid token is HTTP 401 there (its interceptor; the front end then goes back to login).

`http_status()` picks the status of an error answer; the envelope (`code`, `message`) is the
same in both styles. An unrouted path (404/405 from the router) keeps its status, as DJI's
backend does.
"""

from __future__ import annotations

from aiohttp import web

#: Routes of Pilot's own API (§8.2), of the station's H5 pages (§8.3) and Pilot's WebSocket
#: (§9), as (method, route template): errors keep their HTTP status there.
PILOT_ROUTES = frozenset(
    {
        # §8.3: login, tokens, user, workspace, binding, one device (the H5 pages read statuses)
        ("POST", "/manage/api/v1/login"),
        ("POST", "/manage/api/v1/token/refresh"),
        ("GET", "/manage/api/v1/users/current"),
        ("GET", "/manage/api/v1/workspaces/current"),
        ("POST", "/manage/api/v1/devices/{device_sn}/binding"),
        ("GET", "/manage/api/v1/devices/{workspace_id}/devices/{device_sn}"),
        # §8.2 #1 situational awareness
        ("GET", "/manage/api/v1/workspaces/{workspace_id}/devices/topologies"),
        # §8.2 #2-#5 map elements
        ("GET", "/map/api/v1/workspaces/{workspace_id}/element-groups"),
        ("POST", "/map/api/v1/workspaces/{workspace_id}/element-groups/{group_id}/elements"),
        ("PUT", "/map/api/v1/workspaces/{workspace_id}/elements/{element_id}"),
        ("DELETE", "/map/api/v1/workspaces/{workspace_id}/elements/{element_id}"),
        # the station's own H5 page asks for Pilot's live-share URL (§10.2 liveshare)
        ("POST", "/manage/api/v1/live/share"),
        # §8.2 #6 storage
        ("POST", "/storage/api/v1/workspaces/{workspace_id}/sts"),
        # §8.2 #7-#10 media
        ("POST", "/media/api/v1/workspaces/{workspace_id}/fast-upload"),
        ("POST", "/media/api/v1/workspaces/{workspace_id}/files/tiny-fingerprints"),
        ("POST", "/media/api/v1/workspaces/{workspace_id}/upload-callback"),
        ("POST", "/media/api/v1/workspaces/{workspace_id}/group-upload-callback"),
        # §8.2 #11-#16 waylines
        ("GET", "/wayline/api/v1/workspaces/{workspace_id}/waylines"),
        ("GET", "/wayline/api/v1/workspaces/{workspace_id}/waylines/{wayline_id}/url"),
        ("GET", "/wayline/api/v1/workspaces/{workspace_id}/waylines/duplicate-names"),
        ("POST", "/wayline/api/v1/workspaces/{workspace_id}/upload-callback"),
        ("POST", "/wayline/api/v1/workspaces/{workspace_id}/favorites"),
        ("DELETE", "/wayline/api/v1/workspaces/{workspace_id}/favorites"),
        # §9 the WebSocket Pilot opens (a refused handshake is an HTTP status)
        ("GET", "/api/v1/ws"),
    }
)


def is_console_route(request: web.BaseRequest) -> bool:
    """Whether the request reached a routed web-console endpoint (not Pilot's, not unrouted)."""
    match = getattr(request, "match_info", None)
    if match is None or match.http_exception is not None:
        return False
    resource = match.route.resource
    if resource is None:
        return False
    return (request.method, resource.canonical) not in PILOT_ROUTES


def http_status(request: web.BaseRequest, status: int) -> int:
    """The HTTP status of an error answer whose envelope code stands for `status`: 200 on a
    web-console endpoint unless the token is missing or invalid (401), else `status`."""
    if status == 401 or status < 400 or not is_console_route(request):
        return status
    return 200
