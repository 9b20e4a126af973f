// sdk_client drives moby 20.10's own Go client (github.com/docker/docker/client) through the
// gateway the way Go tools do: TLS from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, API
// version negotiation, create/start/logs/exec (hijacked)/kill/wait/remove of an ordinary
// container with a bind, then one create (or exec create) per setting a CI profile refuses.
//
// Usage: sdk_client IMAGE LABEL BIND_DIR
// Prints one line per step: "version V", "logs TEXT", "exec TEXT", "removed", then
// "refused NAME: ERROR" or "ALLOWED NAME" per refused setting. Exits non-zero when an
// ordinary step fails.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

func fail(step string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", step, err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sdk_client IMAGE LABEL BIND_DIR")
		os.Exit(2)
	}
	image, label, bindDir := os.Args[1], os.Args[2], os.Args[3]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		fail("client", err)
	}
	v, err := c.ServerVersion(ctx)
	if err != nil {
		fail("version", err)
	}
	fmt.Println("version", v.APIVersion)

	labels := map[string]string{"dockgate-test": label}
	cfg := &container.Config{
		Image:  image,
		Cmd:    []string{"sh", "-c", "echo go-sdk-ok; echo written > /w/out; sleep 600"},
		Labels: labels,
	}
	host := &container.HostConfig{Binds: []string{bindDir + ":/w"}}
	created, err := c.ContainerCreate(ctx, cfg, host, nil, nil, "")
	if err != nil {
		fail("create", err)
	}
	id := created.ID
	if err := c.ContainerStart(ctx, id, types.ContainerStartOptions{}); err != nil {
		fail("start", err)
	}

	var logs string
	for i := 0; i < 100 && !strings.Contains(logs, "go-sdk-ok"); i++ {
		time.Sleep(100 * time.Millisecond)
		rc, err := c.ContainerLogs(ctx, id, types.ContainerLogsOptions{ShowStdout: true})
		if err != nil {
			fail("logs", err)
		}
		var out, errb bytes.Buffer
		if _, err := stdcopy.StdCopy(&out, &errb, rc); err != nil {
			fail("logs copy", err)
		}
		rc.Close()
		logs = out.String()
	}
	fmt.Println("logs", strings.TrimSpace(logs))

	ex, err := c.ContainerExecCreate(ctx, id, types.ExecConfig{
		Cmd: []string{"cat", "/w/out"}, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		fail("exec create", err)
	}
	hj, err := c.ContainerExecAttach(ctx, ex.ID, types.ExecStartCheck{})
	if err != nil {
		fail("exec attach", err)
	}
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, hj.Reader); err != nil {
		fail("exec copy", err)
	}
	hj.Close()
	fmt.Println("exec", strings.TrimSpace(out.String()))

	refusedExec := "n/a"
	_, err = c.ContainerExecCreate(ctx, id, types.ExecConfig{Cmd: []string{"id"}, Privileged: true})
	if err != nil {
		refusedExec = err.Error()
	}

	if err := c.ContainerKill(ctx, id, "KILL"); err != nil {
		fail("kill", err)
	}
	waitC, errC := c.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		fail("wait", err)
	}
	if err := c.ContainerRemove(ctx, id, types.ContainerRemoveOptions{}); err != nil {
		fail("remove", err)
	}
	fmt.Println("removed")

	if refusedExec == "n/a" {
		fmt.Println("ALLOWED exec-privileged")
	} else {
		fmt.Println("refused exec-privileged:", refusedExec)
	}

	volumeBind := &mount.VolumeOptions{DriverConfig: &mount.Driver{
		Name: "local", Options: map[string]string{"type": "none", "o": "bind", "device": "/etc"},
	}}
	cases := []struct {
		name string
		host container.HostConfig
	}{
		{"privileged", container.HostConfig{Privileged: true}},
		{"cap-add", container.HostConfig{CapAdd: []string{"sys_admin"}}},
		{"root-bind", container.HostConfig{Binds: []string{"/:/host"}}},
		{"mount-outside", container.HostConfig{Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: "/etc", Target: "/e"}}}},
		{"volume-bind", container.HostConfig{Mounts: []mount.Mount{
			{Type: mount.TypeVolume, Target: "/e", VolumeOptions: volumeBind}}}},
		{"pid-host", container.HostConfig{PidMode: "host"}},
		{"network-host", container.HostConfig{NetworkMode: "host"}},
		{"device", container.HostConfig{Resources: container.Resources{Devices: []container.DeviceMapping{
			{PathOnHost: "/dev/null", PathInContainer: "/dev/x", CgroupPermissions: "rwm"}}}}},
		{"seccomp", container.HostConfig{SecurityOpt: []string{"seccomp=unconfined"}}},
	}
	for _, tc := range cases {
		host := tc.host
		cfg := &container.Config{Image: image, Cmd: []string{"true"}, Labels: labels}
		_, err := c.ContainerCreate(ctx, cfg, &host, nil, nil, "")
		if err != nil {
			fmt.Printf("refused %s: %v\n", tc.name, err)
		} else {
			fmt.Printf("ALLOWED %s\n", tc.name)
		}
	}
}
