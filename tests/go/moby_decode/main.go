// mobydecode decodes Docker "POST /containers/create" bodies with moby 20.10's own decoder and prints the fields an access policy looks at.
//
// Nothing from moby is copied: the body is decoded by
// runconfig.ContainerDecoder{}.DecodeConfig (github.com/docker/docker/runconfig,
// Debian golang-github-docker-docker-dev, built in GOPATH mode), i.e. the same
// ContainerConfigWrapper + getHostConfig() + validation path dockerd 20.10 runs
// for /containers/create.
//
// Protocol: stdin carries one record per line, the standard base64 of one raw
// body; stdout gets one compact JSON line per input line, in order:
//
//	{"ok":false,"error":"..."}   decoding (or base64) failed
//	{"ok":true,"view":{...}}     see type view below for the fixed key order
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/sysinfo"
	"github.com/docker/docker/runconfig"
)

// mountView is one HostConfig.Mounts entry; Driver/Options come from
// VolumeOptions.DriverConfig ("" and null when absent).
type mountView struct {
	Type    string            `json:"type"`
	Source  string            `json:"source"`
	Target  string            `json:"target"`
	Driver  string            `json:"driver"`
	Options map[string]string `json:"options"`
}

// view lists the policy-relevant fields; the struct order fixes the key order.
// Slices keep nil (-> null) apart from non-nil empty (-> []).
type view struct {
	Image      string   `json:"image"`
	HostConfig bool     `json:"hostconfig"`
	Privileged bool     `json:"privileged"`
	CapAdd     []string `json:"cap_add"`
	// moby 20.10.24 has no HostConfig.Capabilities field (it was dropped
	// before 20.10; only DeviceRequest.Capabilities remains), so the decoder
	// ignores such a key and this is always null. Kept for a fixed key set.
	Capabilities      []string    `json:"capabilities"`
	NetworkMode       string      `json:"network_mode"`
	PidMode           string      `json:"pid_mode"`
	IpcMode           string      `json:"ipc_mode"`
	UTSMode           string      `json:"uts_mode"`
	UsernsMode        string      `json:"userns_mode"`
	CgroupnsMode      string      `json:"cgroupns_mode"`
	Cgroup            string      `json:"cgroup"`
	Devices           int         `json:"devices"`
	DeviceCgroupRules int         `json:"device_cgroup_rules"`
	DeviceRequests    int         `json:"device_requests"`
	Binds             []string    `json:"binds"`
	Mounts            []mountView `json:"mounts"`
	VolumesFrom       []string    `json:"volumes_from"`
	SecurityOpt       []string    `json:"security_opt"`
	MaskedPaths       []string    `json:"masked_paths"`
	ReadonlyPaths     []string    `json:"readonly_paths"`
	VolumeDriver      string      `json:"volume_driver"`
}

type result struct {
	OK    bool    `json:"ok"`
	Error *string `json:"error,omitempty"` // set iff !OK (a pointer so "" still prints)
	View  *view   `json:"view,omitempty"`  // set iff OK
}

func failure(msg string) result { return result{Error: &msg} }

// decode runs moby's decoder on one body. A panic inside it (dockerd would
// drop the connection) is reported as an error starting with "panic: ".
func decode(dec runconfig.ContainerDecoder, body []byte) (res result) {
	defer func() {
		if p := recover(); p != nil {
			res = failure(fmt.Sprintf("panic: %v", p))
		}
	}()
	cfg, hc, _, err := dec.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		return failure(err.Error())
	}
	v := &view{HostConfig: hc != nil}
	if cfg != nil {
		v.Image = cfg.Image
	}
	if hc == nil {
		hc = &container.HostConfig{} // zero values
	}
	v.Privileged = hc.Privileged
	if hc.CapAdd != nil {
		v.CapAdd = []string(hc.CapAdd)
	}
	v.NetworkMode = string(hc.NetworkMode)
	v.PidMode = string(hc.PidMode)
	v.IpcMode = string(hc.IpcMode)
	v.UTSMode = string(hc.UTSMode)
	v.UsernsMode = string(hc.UsernsMode)
	v.CgroupnsMode = string(hc.CgroupnsMode)
	v.Cgroup = string(hc.Cgroup)
	v.Devices = len(hc.Devices)
	v.DeviceCgroupRules = len(hc.DeviceCgroupRules)
	v.DeviceRequests = len(hc.DeviceRequests)
	v.Binds = hc.Binds
	if hc.Mounts != nil {
		v.Mounts = make([]mountView, 0, len(hc.Mounts))
		for _, m := range hc.Mounts {
			mv := mountView{Type: string(m.Type), Source: m.Source, Target: m.Target}
			if m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil {
				mv.Driver = m.VolumeOptions.DriverConfig.Name
				mv.Options = m.VolumeOptions.DriverConfig.Options
			}
			v.Mounts = append(v.Mounts, mv)
		}
	}
	v.VolumesFrom = hc.VolumesFrom
	v.SecurityOpt = hc.SecurityOpt
	v.MaskedPaths = hc.MaskedPaths
	v.ReadonlyPaths = hc.ReadonlyPaths
	v.VolumeDriver = hc.VolumeDriver
	return result{OK: true, View: v}
}

func main() {
	// Probe the host once (only CPU real-time support is consulted by the
	// create-time validation) instead of per body, as DecodeConfig would by default.
	si := sysinfo.New(true)
	dec := runconfig.ContainerDecoder{GetSysInfo: func() *sysinfo.SysInfo { return si }}

	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out) // Encode writes compact JSON plus "\n"
	enc.SetEscapeHTML(false)
	for {
		line, rerr := in.ReadBytes('\n')
		if len(line) == 0 && rerr != nil {
			break
		}
		line = bytes.TrimRight(line, "\r\n")
		var res result
		if body, err := base64.StdEncoding.DecodeString(string(line)); err != nil {
			res = failure("bad base64 input line: " + err.Error())
		} else {
			res = decode(dec, body)
		}
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, "mobydecode:", err)
			os.Exit(1)
		}
		// Flush whenever no more input is already buffered, so the program
		// also works as an interactive co-process.
		if in.Buffered() == 0 || rerr != nil {
			if err := out.Flush(); err != nil {
				fmt.Fprintln(os.Stderr, "mobydecode:", err)
				os.Exit(1)
			}
		}
		if rerr != nil {
			break
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "mobydecode:", err)
		os.Exit(1)
	}
}
