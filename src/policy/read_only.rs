//! The `read-only` access level: the engine routes a monitoring client or dashboard needs, by name
//! from [`super::routes::ROUTES`], each with the reason it is safe to show; every other route,
//! every path the engine would answer 404, and every request asking to switch protocols is denied.
//!
//! "Safe" means the route changes nothing, copies no file or image data out of the host, makes
//! the daemon contact no other host, and hands out no credential the engine keeps for itself.
//! What it does show is stated in the README's threat model: container, image and service
//! inspects show environment variables and commands, volume list and inspect show the driver
//! options given at creation. Left out on purpose (all GET): `SwarmInspect` (join tokens),
//! `SwarmUnlockkey`, `ConfigList` and `ConfigInspect` (config data), `SecretList` and
//! `SecretInspect` (no data, but nothing a dashboard needs, and driver options may hold a secret
//! store's credentials), `DistributionInspect`, `ImageSearch` and `GetPluginPrivileges` (the daemon
//! contacts a host of the client's choice with the client's `X-Registry-Auth`), `PluginList` and
//! `PluginInspect` (plugin settings carry credentials, e.g. a cloud volume plugin's access key;
//! `/info` still names the installed plugins), `ImageAttestations` (provenance embeds build
//! arguments and the Dockerfile; nothing the CLI's read commands use), `ContainerExport`,
//! `ContainerArchive`, `ContainerArchiveInfo`, `ImageGet` and `ImageGetAll` (file system and
//! image data), `ContainerAttachWebsocket` (a hijack that writes to the container's stdin),
//! `CheckpointList`, and every `/debug/*` route (the root daemon's command line and profiles).

use super::routes;
use super::RequestView;

/// The routes `read-only` may use, by [`routes::Route::name`], with why each is there.
pub const ALLOWED: &[(&str, &str)] = &[
    (
        "SystemPing",
        "API version negotiation, the CLI's fallback when HEAD fails",
    ),
    (
        "SystemPingHead",
        "API version negotiation, the CLI's first request",
    ),
    (
        "SystemVersion",
        "`docker version`: engine, API, OS and kernel versions",
    ),
    (
        "SystemInfo",
        "`docker info`: counts, drivers, swarm membership without join tokens, proxies with credentials masked",
    ),
    (
        "SystemEvents",
        "the event stream dashboards follow (names, labels, exec command lines)",
    ),
    (
        "SystemDataUsage",
        "`docker system df`: disk use of images, containers, volumes, build cache",
    ),
    (
        "ContainerList",
        "`docker ps`",
    ),
    (
        "ContainerInspect",
        "`docker inspect`, and `docker logs` looks up the container first; shows env and command",
    ),
    (
        "ContainerLogs",
        "`docker logs`: the container's output",
    ),
    (
        "ContainerStats",
        "`docker stats`: resource usage",
    ),
    (
        "ContainerTop",
        "`docker top`: the container's process list",
    ),
    (
        "ContainerChanges",
        "`docker diff`: names of changed paths, no content",
    ),
    (
        "ExecInspect",
        "an exec's state and exit code; its command line is already in the event stream",
    ),
    (
        "ImageList",
        "`docker images`",
    ),
    (
        "ImageInspect",
        "`docker image inspect`: config, env, layers' digests, no layer data",
    ),
    (
        "ImageHistory",
        "`docker history`: the commands that built each layer",
    ),
    (
        "NetworkList",
        "`docker network ls`",
    ),
    (
        "NetworkInspect",
        "`docker network inspect`: subnets, attached containers",
    ),
    (
        "VolumeList",
        "`docker volume ls`; shows driver options given at creation",
    ),
    (
        "VolumeInspect",
        "`docker volume inspect`; shows driver options given at creation",
    ),
    (
        "NodeList",
        "swarm dashboards: `docker node ls`",
    ),
    (
        "NodeInspect",
        "`docker node inspect`: addresses, resources, public TLS trust root, no join tokens",
    ),
    (
        "ServiceList",
        "swarm dashboards: `docker service ls`; specs without registry auth",
    ),
    (
        "ServiceInspect",
        "`docker service inspect`: the spec with env, secret and config references by name, no registry auth",
    ),
    (
        "ServiceLogs",
        "`docker service logs`: the same as container logs",
    ),
    (
        "TaskList",
        "`docker service ps`",
    ),
    (
        "TaskInspect",
        "`docker inspect` of a task: its spec, like the service's, and status",
    ),
    (
        "TaskLogs",
        "a task's container output",
    ),
];

/// Whether `read-only` allows `req`.
pub fn allows(req: &RequestView<'_>) -> bool {
    !req.upgrade
        && routes::dispatch(req.method, req.path)
            .is_some_and(|route| ALLOWED.iter().any(|(name, _)| *name == route.name))
}
