package controller

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// What the images hold and how the services are told about it; the values
// match deploy/k8s/base and deploy/compose/Dockerfile.*.
const (
	// defaultEmbedModel is built into the embedder image (/opt/semrouter/models).
	defaultEmbedModel = "use-lite"
	// defaultGuardDir is where the classifier image unpacks llm_guardrail.
	defaultGuardDir    = "/opt/semrouter/guard"
	envEmbedModel      = "SEMROUTER_EMBED_MODEL"
	envGuardDir        = "SEMROUTER_GUARD_DIR"
	defaultNATSStorage = "5Gi"
	portNATSMonitor    = 8222
	natsHealthPath     = "/healthz?js-enabled-only=true"
)

// Deployments returns every Deployment the reconciler writes for sr (the
// manifests' tests run their containers' binaries with these arguments).
func Deployments(sr *v1alpha1.SemanticRouter, plat Platform, configHash string) []*appsv1.Deployment {
	replicas := sr.Spec.Replicas
	if replicas == nil {
		replicas = ptr.To[int32](1)
	}
	var out []*appsv1.Deployment

	// gateway (+ Envoy in standalone mode): the front, scaled by spec.replicas.
	containers := []corev1.Container{gatewayContainer(sr)}
	if standalone(sr) {
		containers = append(containers, envoyContainer())
	}
	gw := deployment(sr, componentGateway, replicas, podTemplate(sr, plat, componentGateway, configHash, containers, nil))
	routerPlacement(sr, gw)
	if sr.Spec.Autoscaling.Enabled {
		gw.Spec.Replicas = nil // the HPA owns the replica count
	}
	out = append(out, gw)

	// config-hub: serves the config over NATS and xDS to the Envoys.
	out = append(out, deployment(sr, componentConfigHub, ptr.To[int32](1),
		podTemplate(sr, plat, componentConfigHub, configHash, []corev1.Container{configHubContainer(sr)}, nil)))

	models, modelsVol := modelsVolume(sr)
	cls := classifierContainer(sr)
	cls.VolumeMounts = []corev1.VolumeMount{models}
	cd := deployment(sr, componentClassifier, replicas,
		podTemplate(sr, plat, componentClassifier, configHash, []corev1.Container{cls}, []corev1.Volume{modelsVol}))
	routerPlacement(sr, cd)
	out = append(out, cd)

	cache := deployment(sr, componentCache, ptr.To[int32](1),
		podTemplate(sr, plat, componentCache, configHash, []corev1.Container{cacheContainer(sr)}, nil))
	routerPlacement(sr, cache)
	out = append(out, cache)

	// embedder pool: scales on its own (spec.embedder), optionally on GPUs.
	emb := embedderContainer(sr)
	emb.VolumeMounts = []corev1.VolumeMount{models}
	embReplicas := sr.Spec.Embedder.Replicas
	if embReplicas == nil {
		embReplicas = ptr.To[int32](1)
	}
	ed := deployment(sr, componentEmbedder, embReplicas,
		podTemplate(sr, plat, componentEmbedder, configHash, []corev1.Container{emb}, []corev1.Volume{modelsVol}))
	ed.Spec.Template.Spec.NodeSelector = sr.Spec.Embedder.NodeSelector
	ed.Spec.Template.Spec.Tolerations = sr.Spec.Embedder.Tolerations
	out = append(out, ed)

	// NATS with JetStream: the bus between the services.
	nd := deployment(sr, componentNATS, ptr.To[int32](1), podTemplate(sr, plat, componentNATS, configHash,
		[]corev1.Container{natsContainer(sr)}, []corev1.Volume{natsDataVolume(sr), natsConfigVolume(sr)}))
	nd.Spec.Template.Annotations[annotationNATSConfig] = natsConfHash()
	nd.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	out = append(out, nd)
	return out
}

// routerPlacement applies the router pods' node selector, tolerations and affinity.
func routerPlacement(sr *v1alpha1.SemanticRouter, d *appsv1.Deployment) {
	d.Spec.Template.Spec.NodeSelector = sr.Spec.NodeSelector
	d.Spec.Template.Spec.Tolerations = sr.Spec.Tolerations
	d.Spec.Template.Spec.Affinity = sr.Spec.Affinity
}

func gatewayContainer(sr *v1alpha1.SemanticRouter) corev1.Container {
	p := servicePorts(sr)
	args := []string{
		flagArg("nats-url", natsURL(sr)),
		flagArg("extproc-addr", listenAddr(p.grpcTarget)),
		flagArg("api-addr", listenAddr(p.apiTarget)),
		flagArg("metrics-addr", listenAddr(p.metricsTarget)),
	}
	if m, ok := gatewayEmbedModel(sr); ok {
		args = append(args, flagArg("embed-model", m))
	}
	return corev1.Container{
		Name:  "gateway-extproc",
		Image: image(sr, "gateway-extproc"),
		Args:  append(args, sr.Spec.Args...),
		Ports: []corev1.ContainerPort{
			{Name: "grpc", ContainerPort: p.grpcTarget, Protocol: corev1.ProtocolTCP},
			{Name: "api", ContainerPort: p.apiTarget, Protocol: corev1.ProtocolTCP},
			{Name: "metrics", ContainerPort: p.metricsTarget, Protocol: corev1.ProtocolTCP},
		},
		Env:            withNATSUser(sr, componentGateway, mergeEnv(sr.Spec.Env, nil)),
		Resources:      sr.Spec.Resources,
		LivenessProbe:  probe(sr.Spec.LivenessProbe, p.grpcTarget, 10, 10),
		ReadinessProbe: probe(sr.Spec.ReadinessProbe, p.apiTarget, 5, 5),
		StartupProbe:   probe(sr.Spec.StartupProbe, p.grpcTarget, 0, 5),
	}
}

func envoyContainer() corev1.Container {
	return corev1.Container{
		Name:  "envoy",
		Image: envoyImage,
		Args:  []string{"-c", configMountPath + "/envoy.yaml", "--log-level", "info"},
		Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: portEnvoyHTTP, Protocol: corev1.ProtocolTCP},
			{Name: "envoy-admin", ContainerPort: portEnvoyAdmin, Protocol: corev1.ProtocolTCP},
		},
		Resources: requirements("100m", "128Mi", ""),
	}
}

// configHubContainer serves the management API, xDS and, like every
// service, metrics (probed like the others' on the metrics port).
func configHubContainer(sr *v1alpha1.SemanticRouter) corev1.Container {
	spec := sr.Spec.Components.ConfigHub
	// Envoy runs next to the gateway (standalone mode), so ext_proc is local.
	extproc := "127.0.0.1:" + strconv.Itoa(int(servicePorts(sr).grpcTarget))
	c := serviceContainer(sr, componentConfigHub, "config-hub", spec, requirements("50m", "64Mi", "256Mi"),
		flagArg("config", configMountPath+"/config.yaml"),
		flagArg("nats-url", natsURL(sr)),
		flagArg("management-addr", listenAddr(portManagement)),
		flagArg("xds-addr", listenAddr(portXDS)),
		flagArg("extproc-addr", extproc),
		flagArg("metrics-addr", listenAddr(portMetrics)),
	)
	c.Ports = append([]corev1.ContainerPort{
		{Name: "management", ContainerPort: portManagement, Protocol: corev1.ProtocolTCP},
		{Name: "xds", ContainerPort: portXDS, Protocol: corev1.ProtocolTCP},
	}, c.Ports...)
	if ownManagementToken(sr) {
		c.Env = append(c.Env, managementTokenEnv(sr))
	}
	return c
}

func classifierContainer(sr *v1alpha1.SemanticRouter) corev1.Container {
	spec := sr.Spec.Components.Classifier
	env := mergeEnv(sr.Spec.Env, spec.Env)
	args := []string{flagArg("nats-url", natsURL(sr)), flagArg("metrics-addr", listenAddr(portMetrics))}
	if m, ok := classifierEmbedModel(sr, env); ok {
		args = append(args, flagArg("embed-model", m))
	}
	switch {
	case spec.GuardDir != "":
		args = append(args, flagArg("guard-dir", spec.GuardDir))
	case !hasEnv(env, envGuardDir):
		args = append(args, flagArg("guard-dir", defaultGuardDir))
	}
	return serviceContainer(sr, componentClassifier, "classifier", spec.ComponentSpec, requirements("250m", "512Mi", "2Gi"), args...)
}

func cacheContainer(sr *v1alpha1.SemanticRouter) corev1.Container {
	return serviceContainer(sr, componentCache, "cache", sr.Spec.Components.Cache, requirements("250m", "512Mi", "2Gi"),
		flagArg("nats-url", natsURL(sr)), flagArg("metrics-addr", listenAddr(portMetrics)))
}

func embedderContainer(sr *v1alpha1.SemanticRouter) corev1.Container {
	e := sr.Spec.Embedder
	spec := v1alpha1.ComponentSpec{Args: e.Args, Env: e.Env}
	if !emptyRequirements(e.Resources) {
		spec.Resources = &e.Resources
	}
	c := serviceContainer(sr, componentEmbedder, "embedder-gpu", spec, requirements("1", "1Gi", "4Gi"),
		flagArg("nats-url", natsURL(sr)), flagArg("metrics-addr", listenAddr(portMetrics)))
	c.Name = "embedder-gpu"
	return c
}

// serviceContainer is a semrouter service other than the gateway: its
// arguments then spec.args, spec.env then the component's env, the metrics
// port with TCP probes on it, and the component's resources (else def).
func serviceContainer(sr *v1alpha1.SemanticRouter, component, service string, spec v1alpha1.ComponentSpec, def corev1.ResourceRequirements, args ...string) corev1.Container {
	res := def
	if spec.Resources != nil {
		res = *spec.Resources.DeepCopy()
	}
	return corev1.Container{
		Name:           component,
		Image:          image(sr, service),
		Args:           append(args, spec.Args...),
		Ports:          []corev1.ContainerPort{{Name: "metrics", ContainerPort: portMetrics, Protocol: corev1.ProtocolTCP}},
		Env:            withNATSUser(sr, component, mergeEnv(sr.Spec.Env, spec.Env)),
		Resources:      res,
		ReadinessProbe: tcpProbe("metrics", 0, 5),
		LivenessProbe:  tcpProbe("metrics", 10, 10),
	}
}

func natsContainer(sr *v1alpha1.SemanticRouter) corev1.Container {
	res := requirements("100m", "128Mi", "1Gi")
	if r := sr.Spec.Components.NATS.Resources; r != nil {
		res = *r.DeepCopy()
	}
	health := func(delay, period int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: natsHealthPath, Port: intstr.FromString("monitor"), Scheme: corev1.URISchemeHTTP}},
			InitialDelaySeconds: delay, PeriodSeconds: period, TimeoutSeconds: 3, FailureThreshold: 3,
		}
	}
	return corev1.Container{
		Name:  "nats",
		Image: natsImage,
		// users and permissions from nats.conf; the flags win over it
		Args: []string{flagArg("config", natsConfDir+"/"+natsConfKey),
			"--jetstream", "--store_dir=/data", "--http_port=" + strconv.Itoa(portNATSMonitor)},
		Env: natsServerEnv(sr),
		Ports: []corev1.ContainerPort{
			{Name: "client", ContainerPort: portNATS, Protocol: corev1.ProtocolTCP},
			{Name: "monitor", ContainerPort: portNATSMonitor, Protocol: corev1.ProtocolTCP},
		},
		Resources:      res,
		ReadinessProbe: health(0, 5),
		LivenessProbe:  health(10, 10),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/data"},
			{Name: "nats-config", MountPath: natsConfDir, ReadOnly: true},
		},
	}
}

// natsConfigVolume is the ConfigMap holding nats.conf.
func natsConfigVolume(sr *v1alpha1.SemanticRouter) corev1.Volume {
	return corev1.Volume{Name: "nats-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: natsConfigMapName(sr)}}}}
}

// natsDataVolume is JetStream's store: the claim of spec.components.nats.storage,
// else an emptyDir.
func natsDataVolume(sr *v1alpha1.SemanticRouter) corev1.Volume {
	v := corev1.Volume{Name: "data"}
	if sr.Spec.Components.NATS.Storage != nil {
		v.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: natsPVCName(sr)}}
	} else {
		v.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	}
	return v
}

// natsPVC is the claim of spec.components.nats.storage (nil without one).
func natsPVC(sr *v1alpha1.SemanticRouter) (*corev1.PersistentVolumeClaim, error) {
	st := sr.Spec.Components.NATS.Storage
	if st == nil {
		return nil, nil
	}
	size, err := natsStorageSize(st)
	if err != nil {
		return nil, err
	}
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: objectMeta(sr, natsPVCName(sr), componentNATS),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: st.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	c.Annotations = st.Annotations
	return c, nil
}

func natsStorageSize(st *v1alpha1.NATSStorageSpec) (resource.Quantity, error) {
	size := st.Size
	if size == "" {
		size = defaultNATSStorage
	}
	q, err := resource.ParseQuantity(size)
	if err != nil {
		return q, fmt.Errorf("spec.components.nats.storage.size %q: %w", size, err)
	}
	return q, nil
}

// classifierEmbedModel is the classifier's --embed-model: the spec's, else
// none when SEMROUTER_EMBED_MODEL is in its env (the variable decides), else
// the model the embedder image carries.
func classifierEmbedModel(sr *v1alpha1.SemanticRouter, env []corev1.EnvVar) (string, bool) {
	if m := sr.Spec.Components.Classifier.EmbedModel; m != "" {
		return m, true
	}
	if hasEnv(env, envEmbedModel) {
		return "", false
	}
	return defaultEmbedModel, true
}

// gatewayEmbedModel is the gateway's --embed-model, the classifier's model
// (so both ask the embedder pool for the same one) unless the gateway's own
// env names SEMROUTER_EMBED_MODEL.
func gatewayEmbedModel(sr *v1alpha1.SemanticRouter) (string, bool) {
	if m := sr.Spec.Components.Classifier.EmbedModel; m != "" {
		return m, true
	}
	if hasEnv(sr.Spec.Env, envEmbedModel) {
		return "", false
	}
	for _, e := range sr.Spec.Components.Classifier.Env {
		if e.Name == envEmbedModel {
			// a value from a Secret or ConfigMap is unknown here: the pool's default
			return e.Value, e.ValueFrom == nil && e.Value != ""
		}
	}
	return defaultEmbedModel, true
}

// mergeEnv is base then extra, one entry per name: a later entry replaces an
// earlier one of the same name in place.
func mergeEnv(base, extra []corev1.EnvVar) []corev1.EnvVar {
	if len(base)+len(extra) == 0 {
		return nil
	}
	out := make([]corev1.EnvVar, 0, len(base)+len(extra))
	at := make(map[string]int, len(base)+len(extra))
	for _, list := range [][]corev1.EnvVar{base, extra} {
		for _, e := range list {
			if i, ok := at[e.Name]; ok {
				out[i] = *e.DeepCopy()
				continue
			}
			at[e.Name] = len(out)
			out = append(out, *e.DeepCopy())
		}
	}
	return out
}

func hasEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

func flagArg(name, value string) string { return "--" + name + "=" + value }

func listenAddr(port int32) string { return ":" + strconv.Itoa(int(port)) }

// tcpProbe checks a named container port.
func tcpProbe(port string, delay, period int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(port)}},
		InitialDelaySeconds: delay,
		PeriodSeconds:       period,
		TimeoutSeconds:      3,
		FailureThreshold:    3,
	}
}

// requirements are CPU and memory requests and an optional memory limit.
func requirements(cpu, memory, memoryLimit string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}}
	if memoryLimit != "" {
		r.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memoryLimit)}
	}
	return r
}

func emptyRequirements(r corev1.ResourceRequirements) bool {
	return len(r.Requests) == 0 && len(r.Limits) == 0 && len(r.Claims) == 0
}
