# The code cells of the submission notebook (submission/submission.ipynb): plain Keras 3, as the
# handout writes its models, runnable with nothing but keras, a backend, numpy, scipy and
# matplotlib. Each "# %% name" line starts one cell; harness.report.submission lays them out
# between the written answers, after a first cell of the run's settings, and proves in
# tests/report/test_submission.py that these models compute what the harness trained.
# A comment "# @key" is replaced by the catalogue's words for that key, in the notebook's language.

# %% setup
import json
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy.stats import norm

import keras
from keras import layers, ops

keras.utils.set_random_seed(SEED)
img_rows, img_cols, channel = 28, 28, 1


def number(value, digits=None):
    # @number
    if digits is None:
        text = np.format_float_positional(np.float32(value), trim="-")
    else:
        text = f"{value:,.{digits}f}"
    if DECIMAL == ",":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text.replace("-", "\u2212")


def axis_numbers(*axes):
    # @axis_numbers
    for ax in axes:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v)))


def prepare(images):
    return (images.astype("float32") / 255)[..., None]  # @prepare


# %% data
if RETRAIN:
    (X_train, y_train), (X_test, y_test) = keras.datasets.mnist.load_data()
    X_train = prepare(X_train[:RETRAIN_IMAGES])
else:
    with np.load("data/mnist_test.npz") as saved:  # @test_images
        X_test, y_test = saved["x_test"], saved["y_test"]
X_test, y_test = prepare(X_test[:N_TEST]), y_test[:N_TEST]
with open("data/history.json", encoding="utf-8") as f:
    RUN_HISTORY = json.load(f)  # @history
print(f"X_test: {X_test.shape}")

# %% vae_model
# @sampling_layer
class Sampling(layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon  # @sigma


# @loss_layer
class VAELoss(layers.Layer):
    def call(self, inputs):
        x, x_decoded, z_mean, z_log_var = inputs
        pixels = img_rows * img_cols * channel
        reconstruction_loss = pixels * keras.losses.binary_crossentropy(
            ops.reshape(x, (-1, pixels)), ops.reshape(x_decoded, (-1, pixels)))
        kl_loss = -0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
        self.add_loss(ops.mean(reconstruction_loss + kl_loss))
        return x_decoded


def build_encoder(latent_dim=2, filters=32, num_conv=3, intermediate_dim=128):
    x = keras.Input(shape=(img_rows, img_cols, channel))
    conv_1 = layers.Conv2D(filters, kernel_size=num_conv, padding="same", activation="relu",
                           name="conv_1")(x)
    conv_2 = layers.Conv2D(filters, kernel_size=num_conv, padding="same", activation="relu",
                           name="conv_2")(conv_1)
    conv_3 = layers.Conv2D(filters * 2, kernel_size=num_conv, padding="same", activation="relu",
                           strides=2, name="conv_3")(conv_2)
    flat = layers.Flatten(name="flat")(conv_3)
    hidden = layers.Dense(intermediate_dim, activation="relu", name="hidden")(flat)
    z_mean = layers.Dense(latent_dim, name="z_mean")(hidden)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(hidden)
    return keras.Model(x, [z_mean, z_log_var], name="encoder")


def build_decoder(latent_dim=2, filters=32, num_conv=3, intermediate_dim=128):
    shape_before_flattening = (img_rows // 2, img_cols // 2, filters * 2)  # @shape_before_flattening
    z = keras.Input(shape=(latent_dim,))
    h = layers.Dense(intermediate_dim, activation="relu", name="decoder_hid")(z)
    h = layers.Dense(int(np.prod(shape_before_flattening)), activation="relu",
                     name="decoder_upsample")(h)
    h = layers.Reshape(shape_before_flattening, name="decoder_reshape")(h)
    h = layers.Conv2DTranspose(filters, kernel_size=num_conv, padding="same", strides=2,
                               activation="relu", name="decoder_deconv_1")(h)
    h = layers.Conv2DTranspose(filters, kernel_size=num_conv, padding="same", activation="relu",
                               name="decoder_deconv_2")(h)
    x_decoded = layers.Conv2DTranspose(channel, kernel_size=num_conv, padding="same",
                                       activation="sigmoid", name="decoder_mean_squash")(h)
    return keras.Model(z, x_decoded, name="decoder")


def build_vae(encoder, decoder, seed=None):
    x = keras.Input(shape=(img_rows, img_cols, channel))
    z_mean, z_log_var = encoder(x)
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    x_decoded = VAELoss(name="vae_loss")([x, decoder(z), z_mean, z_log_var])
    return keras.Model(x, x_decoded, name="vae")


encoder, decoder = build_encoder(LATENT_DIM), build_decoder(LATENT_DIM)
vae = build_vae(encoder, decoder)
for model in (encoder, decoder, vae):
    print(WORDS["params"].format(name=model.name, n=number(model.count_params(), 0)))

# %% vae_train
vae.compile(optimizer=keras.optimizers.RMSprop(learning_rate=VAE_LEARNING_RATE))
if RETRAIN:
    fit = vae.fit(X_train, epochs=RETRAIN_EPOCHS, batch_size=VAE_BATCH_SIZE,
                  validation_data=(X_test, None), verbose=2)
    history = {"loss": fit.history["loss"], "val_loss": fit.history["val_loss"]}
else:
    vae.load_weights("weights/vae.weights.h5")  # @load_vae
    history = RUN_HISTORY["vae"]
epochs = np.arange(1, len(history["loss"]) + 1)
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(epochs, history["loss"], "o-", label=WORDS["train"])
ax.plot(epochs, history["val_loss"], "o-", label=WORDS["test"])
ax.set_xlabel(WORDS["epoch"])
ax.set_ylabel(WORDS["neg_elbo"])
ax.set_xticks(epochs)
ax.legend()
axis_numbers(ax)
plt.show()

# %% latent_space
z_mean, z_log_var = encoder.predict(X_test, batch_size=500, verbose=0)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.3, 1, 1]})
points = axes[0].scatter(z_mean[:, 0], z_mean[:, 1], c=y_test, cmap="tab10", s=4)
fig.colorbar(points, ax=axes[0], ticks=range(10), label=WORDS["digit"])
axes[0].set_xlabel("$\\mu_1$")
axes[0].set_ylabel("$\\mu_2$")
for i in range(2):
    axes[1].hist(z_mean[:, i], bins=50, alpha=0.6, label=f"$\\mu_{i + 1}$")
    axes[2].hist(np.exp(z_log_var[:, i]), bins=50, alpha=0.6, label=f"$\\sigma^2_{i + 1}$")
axes[1].set_title(WORDS["means"])
axes[2].set_title(WORDS["variances"])
for ax in axes[1:]:
    ax.legend()
axis_numbers(*axes)
fig.tight_layout()
plt.show()

# %% latent_grid
def latent_grid(decoder, lo, hi, n):
    grid = norm.ppf(np.linspace(lo, hi, n))  # @inverse_cdf
    z = np.array([[xi, yi] for yi in grid for xi in grid], dtype="float32")
    digits = decoder.predict(z, batch_size=n * n, verbose=0)[..., 0]
    rows = digits.reshape(n, n, img_rows, img_cols).transpose(0, 2, 1, 3)
    figure = rows.reshape(n * img_rows, n * img_cols)
    return figure, grid


fig, axes = plt.subplots(1, 2, figsize=(12, 6.2))
for ax, (lo, hi) in zip(axes, [(0.05, 0.95), (0.000005, 0.999995)]):
    figure, grid = latent_grid(decoder, lo, hi, GRID_N)
    ax.imshow(figure, cmap="gnuplot2")
    ticks = np.arange(img_rows / 2, img_rows * GRID_N, img_rows)[::max(1, GRID_N // 6)]
    labels = [number(round(v, 1)) for v in grid[::max(1, GRID_N // 6)]]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(WORDS["grid"].format(lo=number(lo), hi=number(hi)))
fig.tight_layout()
plt.show()

# %% gan_model
def build_discriminator(depth=64, dropout=0.4):
    D = keras.Sequential(name="D")
    D.add(keras.Input(shape=(img_rows, img_cols, channel)))
    D.add(layers.Conv2D(depth * 1, (5, 5), strides=2, padding="same",
                        activation=layers.LeakyReLU(0.2)))
    D.add(layers.Dropout(dropout))
    D.add(layers.Conv2D(depth * 2, (5, 5), strides=2, padding="same",
                        activation=layers.LeakyReLU(0.2)))
    D.add(layers.Dropout(dropout))
    D.add(layers.Conv2D(depth * 4, (5, 5), strides=2, padding="same",
                        activation=layers.LeakyReLU(0.2)))
    D.add(layers.Dropout(dropout))
    D.add(layers.Flatten())
    D.add(layers.Dense(1024, activation=layers.LeakyReLU(0.2)))
    D.add(layers.Dense(1, activation="sigmoid"))
    return D


def build_generator(input_dim=2, depth=64, dim=14, norm_layer=layers.BatchNormalization):
    # @norm_layer
    G = keras.Sequential(name="G")
    G.add(keras.Input(shape=(input_dim,)))
    G.add(layers.Dense(128))
    G.add(norm_layer())
    G.add(layers.Activation("relu"))
    G.add(layers.Dense(dim * dim * depth))
    G.add(norm_layer())
    G.add(layers.Activation("relu"))
    G.add(layers.Reshape((dim, dim, depth)))
    G.add(layers.Conv2DTranspose(depth // 2, (3, 3), padding="same", strides=(2, 2)))  # @depth_half
    G.add(norm_layer())
    G.add(layers.Activation("relu"))
    G.add(layers.Conv2DTranspose(depth // 2, (3, 3), padding="same"))
    G.add(norm_layer())
    G.add(layers.Activation("relu"))
    G.add(layers.Conv2DTranspose(channel, (3, 3), padding="same"))
    G.add(layers.Activation("sigmoid"))
    return G


def rmsprop(lr, decay, clipvalue=1.0):
    # @keras2_decay
    schedule = keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)
    return keras.optimizers.RMSprop(learning_rate=schedule, clipvalue=clipvalue)


D, G = build_discriminator(GAN_DEPTH, GAN_DROPOUT), build_generator(NOISE_DIM, GAN_DEPTH)
for model in (D, G):
    print(WORDS["params"].format(name=model.name, n=number(model.count_params(), 0)))

# %% adversarial
D.trainable = True
DM = keras.Sequential([D], name="DM")
DM.compile(loss="binary_crossentropy", optimizer=rmsprop(D_LR, D_DECAY), metrics=["accuracy"])
D.trainable = False
AM = keras.Sequential([G, D], name="AM")
AM.compile(loss="binary_crossentropy", optimizer=rmsprop(G_LR, G_DECAY), metrics=["accuracy"])


def d_step(image_batch):
    n = len(image_batch)
    noise_gen = np.random.uniform(-1, 1, size=[n, NOISE_DIM])
    generated_images = G.predict(noise_gen, verbose=0)
    X = np.concatenate((image_batch, generated_images))
    y = np.ones([2 * n, 1])
    y[n:, :] = 0
    D.trainable = True  # @trainable_true
    return DM.train_on_batch(X, y)


def g_step(n):
    noise_tr = np.random.uniform(-1, 1, size=[n, NOISE_DIM])
    D.trainable = False  # @trainable_false
    return AM.train_on_batch(noise_tr, np.ones([n, 1]))


def weights(model):
    return [w.numpy() for w in model.weights]


def changed(before, model):
    return sum(not np.array_equal(w0, w) for w0, w in zip(before, weights(model)))


# @proof_step
d_before, g_before = weights(D), weights(G)
d_step(X_test[:GAN_BATCH_SIZE])
sizes = dict(d_all=len(D.weights), g_all=len(G.weights))
print(WORDS["proof_dm"].format(d=changed(d_before, D), g=changed(g_before, G), **sizes))
d_before, g_before = weights(D), weights(G)
g_step(GAN_BATCH_SIZE)
print(WORDS["proof_am"].format(d=changed(d_before, D), g=changed(g_before, G), **sizes))

# %% gan_train
def train_on_steps(X_train, steps, batch_size):
    history = {"d": [], "g": []}
    for e in range(steps):  # @steps
        image_batch = X_train[np.random.randint(0, X_train.shape[0], size=batch_size)]
        d_loss = d_step(image_batch)
        g_loss = g_step(batch_size)
        history["d"].append(float(d_loss[0]))
        history["g"].append(float(g_loss[0]))
    return history  # @return


if RETRAIN:
    gan_history = train_on_steps(X_train, RETRAIN_STEPS, GAN_BATCH_SIZE)
else:
    G.load_weights("weights/generator.weights.h5")  # @load_g
    gan_history = RUN_HISTORY["gan"]
fig, ax = plt.subplots(figsize=(7, 3.2))
steps = np.arange(1, len(gan_history["d"]) + 1)
ax.plot(steps, gan_history["d"], lw=0.8, label=WORDS["d_loss"])
ax.plot(steps, gan_history["g"], lw=0.8, label=WORDS["g_loss"])
ax.set_xlabel(WORDS["step"])
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.set_ylabel(WORDS["bce"])
ax.legend()
axis_numbers(ax)
plt.show()

# %% gan_samples
def show_digits(images, title):
    fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
    for image, ax in zip(images, axes.flat):
        ax.imshow(image[:, :, 0], cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle(title)
    plt.show()


noise = np.random.default_rng(SAMPLE_SEED).uniform(-1.0, 1.0, size=[16, NOISE_DIM]).astype("float32")
show_digits(ops.convert_to_numpy(G(noise, training=False)), WORDS["gan_samples"])

# %% gan_best
if BEST_G_NORM is not None:
    norm_layer = layers.LayerNormalization if BEST_G_NORM == "layer" else layers.BatchNormalization
    G_best = build_generator(NOISE_DIM, GAN_DEPTH, norm_layer=norm_layer)
    G_best.load_weights("weights/generator_best.weights.h5")  # @load_best
    show_digits(ops.convert_to_numpy(G_best(noise, training=False)), WORDS["best_samples"])
