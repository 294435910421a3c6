// cmp-driver calls a running argocd-cmp-server the way Argo CD's repo-server does, for the
// tests in tests/argocd_cmp.rs (test tooling only; scripts/build-argocd-cmp-server builds it
// against the same argo-cd module as the server).
//
// It reads one Application source (spec.source, as JSON) and follows the repo-server's path for
// it: an explicit source type is used as is; without one, Argo CD's plugin discovery decides
// (util/app/discovery.AppType). For a plugin source it builds the plugin environment
// (reposerver/repository: newEnv, getPluginEnvs, getPluginParamEnvs), finds the plugin
// (discovery.DetectConfigManagementPlugin, which also runs `discover` for a named plugin),
// streams the repository tarball (util/cmp.SendRepoStream) and reads the manifests back.
//
// Usage: ARGOCD_PLUGINSOCKFILEPATH=DIR cmp-driver -repo CHECKOUT -source JSON [-app NAME]
// Output: the line "type: <source type>", then each generated manifest as one line of JSON.
// Errors: "error: ..." on stderr, exit status 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/argoproj/argo-cd/gitops-engine/pkg/utils/kube"
	"github.com/golang/protobuf/ptypes/empty"
	grpc_retry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	log "github.com/sirupsen/logrus"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/app/discovery"
	"github.com/argoproj/argo-cd/v3/util/cmp"
	utilio "github.com/argoproj/argo-cd/v3/util/io"
)

func main() {
	repo := flag.String("repo", "", "the repository checkout (the repo-server's repoPath)")
	sourceJSON := flag.String("source", "", "the Application's spec.source, as JSON")
	app := flag.String("app", "cassandra-test", "the Application's name")
	namespace := flag.String("namespace", "argocd", "the Application's namespace")
	revision := flag.String("revision", "0123456789abcdef0123456789abcdef01234567", "the resolved Git revision")
	kubeVersion := flag.String("kube-version", "v1.34.4", "the destination cluster's version")
	flag.Parse()
	log.SetLevel(log.WarnLevel)
	if err := run(*repo, *sourceJSON, *app, *namespace, *revision, *kubeVersion); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(repo, sourceJSON, app, namespace, revision, kubeVersion string) error {
	var source v1alpha1.ApplicationSource
	if err := json.Unmarshal([]byte(sourceJSON), &source); err != nil {
		return fmt.Errorf("-source: %w", err)
	}
	repoPath, err := filepath.Abs(repo)
	if err != nil {
		return err
	}
	appPath := filepath.Join(repoPath, source.Path)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// newEnv (reposerver/repository) for a manifest request.
	short := func(n int) string { return revision[:min(n, len(revision))] }
	env := &v1alpha1.Env{
		{Name: "ARGOCD_APP_NAME", Value: app},
		{Name: "ARGOCD_APP_NAMESPACE", Value: namespace},
		{Name: "ARGOCD_APP_PROJECT_NAME", Value: "default"},
		{Name: "ARGOCD_APP_REVISION", Value: revision},
		{Name: "ARGOCD_APP_REVISION_SHORT", Value: short(7)},
		{Name: "ARGOCD_APP_REVISION_SHORT_8", Value: short(8)},
		{Name: "ARGOCD_APP_SOURCE_REPO_URL", Value: source.RepoURL},
		{Name: "ARGOCD_APP_SOURCE_PATH", Value: source.Path},
		{Name: "ARGOCD_APP_SOURCE_TARGET_REVISION", Value: source.TargetRevision},
	}

	// GetAppSourceType: an explicit type wins; otherwise discovery decides.
	sourceType, err := source.ExplicitType()
	if err != nil {
		return err
	}
	var kind v1alpha1.ApplicationSourceType
	if sourceType != nil {
		kind = *sourceType
	} else {
		t, err := discovery.AppType(ctx, appPath, repoPath, nil, nil, env.Environ())
		if err != nil {
			return fmt.Errorf("error getting app source type: %w", err)
		}
		kind = v1alpha1.ApplicationSourceType(t)
	}
	fmt.Printf("type: %s\n", kind)
	if kind != v1alpha1.ApplicationSourceTypePlugin {
		return nil
	}

	// getPluginEnvs + getPluginParamEnvs.
	vars := append(env.Environ(), "KUBE_VERSION="+kubeVersion, "KUBE_API_VERSIONS=")
	pluginName := ""
	if source.Plugin != nil {
		pluginName = source.Plugin.Name
		parsed := make(v1alpha1.Env, len(vars))
		for i, v := range vars {
			e, err := v1alpha1.NewEnvEntry(v)
			if err != nil {
				return err
			}
			parsed[i] = e
		}
		for _, e := range source.Plugin.Env {
			vars = append(vars, fmt.Sprintf("ARGOCD_ENV_%s=%s", e.Name, parsed.Envsubst(e.Value)))
		}
		params, err := source.Plugin.Parameters.Environ()
		if err != nil {
			return err
		}
		vars = append(vars, params...)
	}

	// runConfigManagementPluginSidecars.
	conn, client, err := discovery.DetectConfigManagementPlugin(ctx, appPath, repoPath, pluginName, vars, nil)
	if err != nil {
		return err
	}
	defer utilio.Close(conn)
	if _, err := client.CheckPluginConfiguration(ctx, &empty.Empty{}); err != nil {
		return fmt.Errorf("error calling cmp-server checkPluginConfiguration: %w", err)
	}
	stream, err := client.GenerateManifest(ctx, grpc_retry.Disable())
	if err != nil {
		return fmt.Errorf("error getting generateManifestStream: %w", err)
	}
	if err := cmp.SendRepoStream(ctx, appPath, repoPath, stream, vars, nil); err != nil {
		return fmt.Errorf("error generating manifests in cmp: error sending file to cmp-server: %w", err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("error generating manifests in cmp: %w", err)
	}
	for _, m := range resp.Manifests {
		objs, err := kube.SplitYAML([]byte(m))
		if err != nil {
			return fmt.Errorf("failed to convert CMP manifests to unstructured objects: %s", err.Error())
		}
		for _, o := range objs {
			b, err := json.Marshal(o.Object)
			if err != nil {
				return err
			}
			fmt.Println(strings.TrimSpace(string(b)))
		}
	}
	return nil
}
