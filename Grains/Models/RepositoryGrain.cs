using OrleansServe.Grains.Repository;

namespace OrleansServe.Grains.Models;

/// <summary>
/// The model repository's index and the record of which models are meant to be served. Model grains ask it on
/// activation whether to load; load and unload requests go through it so that the record stays true. The record is
/// grain state, so a restarted cluster loads the same models again (see <see cref="IndexAsync"/>).
/// </summary>
public sealed class RepositoryGrain(
    ModelRepository repository,
    [PersistentState("served")] IPersistentState<ServedModels> state) : Grain, IRepositoryGrain
{
    /// <summary>The singleton key.</summary>
    public const string Key = GrainKeys.Repository;

    private readonly Dictionary<string, ModelStatus> known = new(StringComparer.Ordinal);
    private readonly HashSet<string> served = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> configs = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The state is read before activation, not before construction.
        served.UnionWith(state.State.Names);
        foreach (var (model, config) in state.State.Configs ?? [])
        {
            configs[model] = config;
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>Asking a served model for its status activates it, and an activating model loads itself when it is served.</remarks>
    public async Task<ModelStatus[]> IndexAsync()
    {
        var index = new List<ModelStatus>();
        foreach (var model in repository.ListModels())
        {
            if (served.Contains(model))
            {
                known[model] = await GrainFactory.GetGrain<IModelGrain>(model).GetStatusAsync();
            }
            index.Add(known.TryGetValue(model, out var status)
                ? status
                : new ModelStatus(model, repository.ListVersions(model).LastOrDefault(), ModelState.Unloaded, null));
        }
        return [.. index];
    }

    /// <inheritdoc />
    public Task<ModelStatus> LoadAsync(string model) => LoadCoreAsync(model, null);

    /// <inheritdoc />
    public Task<ModelStatus> LoadWithConfigAsync(string model, string config)
    {
        if (config is null || System.Text.Encoding.UTF8.GetByteCount(config) > ModelRepository.MaxConfigBytes)
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, $"model '{model}': a config override is a JSON object of at most {ModelRepository.MaxConfigBytes} bytes");
        }
        try
        {
            ModelConfig.Parse(System.Text.Encoding.UTF8.GetBytes(config), model);
        }
        catch (ModelRepositoryException e)
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, e.Message.Replace("config.json", "the config override", StringComparison.Ordinal));
        }
        return LoadCoreAsync(model, config);
    }

    /// <inheritdoc />
    public Task<string?> GetConfigOverrideAsync(string model) => Task.FromResult(configs.GetValueOrDefault(model));

    private async Task<ModelStatus> LoadCoreAsync(string model, string? config)
    {
        ThrowIfAbsent(model);
        var previous = configs.GetValueOrDefault(model);
        if (config is null)
        {
            configs.Remove(model);
        }
        else
        {
            configs[model] = config;
        }
        if (served.Add(model) | previous != config)
        {
            await SaveServedAsync();
        }
        var status = await GrainFactory.GetGrain<IModelGrain>(model).LoadAsync();
        if (config is not null && status.State != ModelState.Ready && previous != config)
        {
            // A config the model cannot be served with is not kept: a restart goes back to the one before it.
            if (previous is null)
            {
                configs.Remove(model);
            }
            else
            {
                configs[model] = previous;
            }
            await SaveServedAsync();
        }
        known[model] = status;
        return status;
    }

    /// <inheritdoc />
    public async Task<ModelStatus> UnloadAsync(string model)
    {
        if (!served.Contains(model))
        {
            ThrowIfAbsent(model);
        }
        if (served.Remove(model) | configs.Remove(model))
        {
            await SaveServedAsync();
        }
        var status = await GrainFactory.GetGrain<IModelGrain>(model).UnloadAsync();
        known[model] = status;
        return status;
    }

    /// <inheritdoc />
    public async Task<ModelStatus[]> LoadAllAsync()
    {
        var fresh = repository.ListModels().Where(m => !known.ContainsKey(m)).ToList();
        var added = false;
        foreach (var model in fresh)
        {
            added |= served.Add(model);
        }
        if (added)
        {
            await SaveServedAsync();
        }
        var statuses = await Task.WhenAll(fresh.Select(m => GrainFactory.GetGrain<IModelGrain>(m).LoadAsync()));
        foreach (var status in statuses)
        {
            known[status.Name] = status;
        }
        return await IndexAsync();
    }

    /// <inheritdoc />
    public Task<bool> IsLoadedAsync(string model) => Task.FromResult(served.Contains(model));

    private Task SaveServedAsync()
    {
        state.State = new ServedModels { Names = [.. served.Order(StringComparer.Ordinal)], Configs = new(configs, StringComparer.Ordinal) };
        return state.WriteStateAsync();
    }

    private void ThrowIfAbsent(string model)
    {
        if (!ModelRepository.IsValidModelName(model) || repository.ListVersions(model).Count == 0)
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"model '{model}' is not in the repository");
        }
    }
}
